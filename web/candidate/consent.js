// Consent screen: two separate, unticked consents (PIPL Art. 29 "separate consent"), and the
// choice of how to take the interview when the org offers more than video. What is asked
// follows the mode: video needs both consents, audio needs recording (analysis optional),
// text records nothing (automated scoring optional). Changing the mode clears both boxes, so
// a tick always answers the text shown next to it.
import { $, focusEl, h, show } from '../common/dom.js';
import { i18n, modeKey, t } from './i18n.js';
import { DEFAULT_MODE, MODES, allowedModes, applyModeTexts } from './modes.js';

const SECTION_ORDER = ['self_intro', 'structured', 'professional'];

/** The radio button of one mode, with its name and description (in #consent-modes). */
function modeOption(mode) {
  const id = `consent-mode-${mode}`;
  const text = (key, cls) => h('span', { class: cls, dataset: { i18n: key }, text: t(key) });
  return h(
    'label',
    { class: 'mode-option', for: id, dataset: { mode } },
    h('input', { type: 'radio', name: 'consent-mode', id, value: mode, testid: id, checked: mode === DEFAULT_MODE }),
    h('span', { class: 'mode-text' }, text(`mode.${mode}`, 'mode-name'), ' ', text(`mode.${mode}.desc`, 'mode-desc')),
  );
}

export function createConsentScreen({ api, onDone }) {
  const rec = $('#consent-recording');
  const ana = $('#consent-analysis');
  const accept = $('#consent-accept');
  const decline = $('#consent-decline');
  const confirm = $('#decline-confirm');
  const yes = $('#decline-yes');
  const no = $('#decline-no');
  const error = $('#consent-error');
  const screen = $('#screen-consent');
  const modeBox = $('#consent-modes');
  const options = MODES.map(modeOption);
  $('#consent-mode-human').before(...options);
  const radios = options.map((label) => label.querySelector('input'));
  let state = null;
  let mode = DEFAULT_MODE;
  let busy = false;

  /** The consents the chosen mode cannot do without are ticked. */
  const ready = () => {
    if (mode === 'text') return true;
    if (mode === 'audio') return rec.checked;
    return rec.checked && ana.checked;
  };

  const update = () => {
    accept.disabled = busy || !ready();
    decline.disabled = busy;
    yes.disabled = busy;
    for (const r of radios) r.disabled = busy;
    show($('#consent-hint'), !ready());
  };
  rec.addEventListener('change', update);
  ana.addEventListener('change', update);

  function chooseMode(next) {
    if (next === mode) return;
    mode = next;
    rec.checked = false;
    ana.checked = false;
    renderMode();
    update();
  }
  for (const r of radios) r.addEventListener('change', () => r.checked && chooseMode(r.value));

  /** Offer the allowed modes (none when video is the only one) and adapt the texts to `mode`. */
  function renderMode() {
    const allowed = allowedModes(state);
    if (!allowed.includes(mode)) mode = DEFAULT_MODE;
    show(modeBox, allowed.length > 1);
    for (const r of radios) {
      show(r.closest('label'), allowed.includes(r.value));
      r.checked = r.value === mode;
    }
    screen.dataset.mode = mode;
    show($('#consent-recording-line'), mode !== 'text'); // nothing is recorded in text mode
    applyModeTexts(screen, mode);
    renderTexts();
  }

  async function submit(decision) {
    if (busy) return;
    busy = true;
    update();
    show(error, false);
    try {
      const next = await api.consent(decision, {
        mode,
        recording: decision === 'accept' && mode !== 'text' && rec.checked,
        analysis: decision === 'accept' && ana.checked,
        textVersion: state?.consent_text_version,
      });
      onDone(next);
    } catch (err) {
      error.textContent = err && err.isLinkProblem ? t('error.unauthorized') : t('consent.error');
      show(error, true);
      onDone(null, err);
    } finally {
      busy = false;
      update();
    }
  }

  accept.addEventListener('click', () => submit('accept'));
  decline.addEventListener('click', () => {
    show(confirm, true);
    show($('#consent-actions'), false);
    focusEl(no);
  });
  no.addEventListener('click', () => {
    show(confirm, false);
    show($('#consent-actions'), true);
    focusEl(decline);
  });
  yes.addEventListener('click', () => submit('decline'));

  function renderTexts() {
    if (!state) return;
    $('#consent-title').textContent = t(modeKey('consent.title', mode), { job: state.job_title || '' });
    $('#consent-org').textContent = state.org_name || '';
    show($('#consent-org'), !!state.org_name);
    $('#consent-greeting').textContent = t('consent.greeting', { name: state.candidate_name || '' });
    const sections = (state.sections || [])
      .filter((s) => s && s.count > 0)
      .sort((a, b) => SECTION_ORDER.indexOf(a.section) - SECTION_ORDER.indexOf(b.section));
    const parts = sections
      .map((s) => t('consent.how.part', { name: t(`section.${s.section}`), count: s.count }))
      .join(t('consent.how.partsep'));
    $('#consent-how').textContent = t(modeKey('consent.how.body', mode), { n: state.questions_total || 0, parts });
    const v = state.consent_text_version;
    $('#consent-version').textContent = v ? t('consent.version', { v }) : '';
  }
  i18n.onChange(renderTexts);

  return {
    render(next) {
      state = next;
      renderMode();
      update();
    },
  };
}
