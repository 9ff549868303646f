// Organisation settings (#/settings, admins only): data retention and the interview modes
// candidates may choose instead of video (GET/PUT /api/org/settings). Video is always offered;
// audio-only and written interviews let a candidate avoid face processing altogether (PIPL).

import { h, replace, field, showError, addError } from '../common/dom.js';
import { API, ApiError, roleOf } from '../staff/api.js';
import { t } from '../staff/i18n.js';
import {
  card,
  errorBanner,
  showErrorSummary,
  notice,
  pageHeader,
  numberOrNull,
  serverForm,
  serverFormParts,
} from '../staff/ui.js';

export const RETENTION_KEYS = ['recordings_days', 'personal_data_days'];
export const ALTERNATIVE_MODES = ['audio', 'text'];
export const RETENTION_DAYS_MAX = 3650;

export const isAdmin = (session) => roleOf(session) === 'admin';

function retentionCard(inputs, errEls) {
  const rows = RETENTION_KEYS.map((key) => {
    const input = h('input', {
      type: 'number',
      min: '1',
      max: String(RETENTION_DAYS_MAX),
      step: '1',
      inputmode: 'numeric',
      name: key,
      testid: `retention-${key}`,
    });
    const f = field(t(`settings.${key}`), input, {
      hint: t('settings.daysHint', { max: RETENTION_DAYS_MAX }),
      errorKey: `retention.${key}`,
    });
    inputs.set(key, input);
    errEls.set(`retention.${key}`, f.error);
    return f.wrap;
  });
  return card(
    { id: 'settings-retention-h', title: t('settings.retention'), testid: 'settings-retention' },
    h('p', { class: 'muted small', text: t('settings.retentionHint') }),
    h('div', { class: 'grid two' }, rows),
  );
}

function modesCard(boxes, errEls) {
  const rows = ALTERNATIVE_MODES.map((mode) => {
    const box = h('input', {
      type: 'checkbox',
      name: `alt-${mode}`,
      id: `settings-alt-${mode}`,
      testid: `settings-alt-${mode}`,
      'aria-describedby': `settings-alt-${mode}-hint`,
    });
    const error = h('p', {
      class: 'field-error',
      role: 'alert',
      hidden: true,
      dataset: { field: `alternatives.${mode}` },
    });
    boxes.set(mode, box);
    errEls.set(`alternatives.${mode}`, error);
    return h(
      'div',
      { class: 'setting-toggle' },
      h(
        'label',
        { class: 'check', for: box.id },
        box,
        h('span', { class: 'strong', text: ` ${t(`settings.alt.${mode}`)}` }),
      ),
      h('p', { class: 'hint', id: `settings-alt-${mode}-hint`, text: t(`settings.alt.${mode}.hint`) }),
      error,
    );
  });
  return card(
    { id: 'settings-modes-h', title: t('settings.modes'), testid: 'settings-modes' },
    h('p', { class: 'muted small', text: t('settings.modesHint') }),
    rows,
  );
}

export function renderSettings(main, ctx) {
  const banner = h('div', { hidden: true });
  if (!isAdmin(ctx.session)) {
    replace(main, pageHeader(t('settings.title')), banner);
    errorBanner(banner, new ApiError(403, { error: 'forbidden' }));
    return () => {};
  }
  const inputs = new Map(); // retention key -> <input type=number>
  const boxes = new Map(); // alternative mode -> <input type=checkbox>
  const errEls = new Map(); // server error field ("retention.recordings_days") -> <p>
  const { summary, status, save } = serverFormParts('settings', t('settings.save'));
  const form = h(
    'form',
    { class: 'settings-form', novalidate: true, testid: 'settings-form', 'aria-busy': 'true' },
    summary,
    retentionCard(inputs, errEls),
    modesCard(boxes, errEls),
    h('div', { class: 'form-actions' }, save),
  );

  function fill(settings) {
    const retention = (settings && settings.retention) || {};
    const alternatives = (settings && settings.alternatives) || {};
    for (const [key, input] of inputs)
      input.value = retention[key] === null || retention[key] === undefined ? '' : String(retention[key]);
    for (const [mode, box] of boxes) box.checked = alternatives[mode] === true;
  }

  function payload() {
    const retention = {};
    for (const [key, input] of inputs) retention[key] = numberOrNull(input.value); // empty: keep
    const alternatives = {};
    for (const [mode, box] of boxes) alternatives[mode] = box.checked;
    return { retention, alternatives };
  }

  function clearErrors() {
    for (const el of errEls.values()) showError(el, []);
    for (const input of [...inputs.values(), ...boxes.values()]) input.removeAttribute('aria-invalid');
    replace(summary);
    summary.hidden = true;
  }

  /** 422 `errors` rows next to their fields; rows naming no known field in a table on top. */
  function showErrors(errors) {
    const other = [];
    for (const e of errors) {
      const el = errEls.get(e.field);
      if (!el) {
        other.push(e);
        continue;
      }
      addError(el, e.message);
      const [group, key] = String(e.field).split('.');
      const input = group === 'retention' ? inputs.get(key) : boxes.get(key);
      if (input) input.setAttribute('aria-invalid', 'true');
    }
    showErrorSummary(summary, form, t('settings.invalid'), other, 'settings-error-table');
  }

  replace(main, pageHeader(t('settings.title')), banner, status, form);
  serverForm(ctx, {
    form,
    save,
    status,
    load: () => API.orgSettings(),
    send: () => API.saveOrgSettings(payload()),
    fill,
    clear: () => {
      clearErrors();
      errorBanner(banner, null);
    },
    saved: () => notice(status, t('settings.saved')),
    invalid: showErrors,
    failed: (e) => errorBanner(banner, e),
  });
  return () => {};
}
