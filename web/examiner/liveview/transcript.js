// The live view's transcript panel: finals in arrival order (bounded), the current partial.

import { h, replace, clear } from '../../common/dom.js';
import { t } from '../../staff/i18n.js';
import { MAX_FINALS, mediaTime, qLabel, finalKey, panelHead } from './common.js';

/** The transcript panel over the live view's `model` (its finals, finalKeys and partial). */
export function transcriptPanel(model) {
  const trList = h('ol', { class: 'tr-list', role: 'log', 'aria-live': 'polite' });
  const trPartial = h('p', { class: 'tr-partial', testid: 'live-partial', hidden: true, 'aria-hidden': 'true' });
  const trEmpty = h('p', { class: 'muted tr-empty' });
  const trTrimmed = h('p', { class: 'muted small', hidden: true });
  const trScroll = h('div', { class: 'tr-scroll' }, trTrimmed, trList, trPartial, trEmpty);
  const trPanel = h('section', { class: 'card panel transcript', testid: 'live-transcript' });

  function labels() {
    replace(trPanel, panelHead('ex.tr.title'), trScroll);
    trEmpty.textContent = t('ex.tr.empty');
    trTrimmed.textContent = t('ex.tr.trimmed', { n: MAX_FINALS });
  }

  function finalEl(f) {
    // Live finals carry end-to-end timing, for tests and troubleshooting: the ASR latency after
    // the speech ended, when the server sent it and when this page showed it (wall clock).
    const timing = f.shown_at ? { serverTs: f.server_ts ?? '', latencyS: f.latency_s ?? '', shownAt: f.shown_at } : {};
    return h(
      'li',
      { class: 'tr-final', dataset: { q: f.question_index ?? '', key: finalKey(f), ...timing } },
      h(
        'span',
        { class: 'tr-meta' },
        f.question_index !== null && f.question_index !== undefined
          ? h('span', { class: 'tr-q', text: qLabel(f.question_index) })
          : null,
        h('time', {
          class: 'tr-time',
          text: mediaTime(f.start_s),
          title: `${mediaTime(f.start_s)}–${mediaTime(f.end_s)}`,
        }),
      ),
      h('span', {
        class: 'tr-text',
        lang: f.language && String(f.language).startsWith('zh') ? 'zh-CN' : f.language || null,
        text: f.text || '',
      }),
    );
  }

  function trStickToBottom(fn) {
    const atBottom = trScroll.scrollHeight - trScroll.scrollTop - trScroll.clientHeight < 40;
    fn();
    if (atBottom) trScroll.scrollTop = trScroll.scrollHeight;
  }

  function addFinal(f, { render = true } = {}) {
    const key = finalKey(f);
    if (model.finalKeys.has(key)) return;
    model.finalKeys.add(key);
    model.finals.push(f);
    while (model.finals.length > MAX_FINALS) model.finalKeys.delete(finalKey(model.finals.shift()));
    if (model.partial && model.partial.utterance_id === f.utterance_id) model.partial = null;
    if (!render) return;
    f.shown_at = Date.now() / 1000;
    const li = finalEl(f);
    trStickToBottom(() => {
      trList.appendChild(li);
      while (trList.childElementCount > MAX_FINALS) trList.firstElementChild.remove();
      trTrimmed.hidden = model.finals.length < MAX_FINALS;
      drawPartial();
    });
    trEmpty.hidden = true;
  }

  function drawPartial() {
    const p = model.partial;
    if (!p || (!p.stable && !p.unstable)) {
      trPartial.hidden = true;
      clear(trPartial);
      return;
    }
    trPartial.hidden = false;
    replace(
      trPartial,
      h(
        'span',
        { class: 'tr-meta' },
        p.question_index !== null && p.question_index !== undefined
          ? h('span', { class: 'tr-q', text: qLabel(p.question_index) })
          : null,
        h('time', { class: 'tr-time', text: mediaTime(p.start_s) }),
      ),
      h(
        'span',
        { class: 'tr-text' },
        h('span', { class: 'stable', testid: 'partial-stable', text: p.stable ? `${p.stable} ` : '' }),
        h('span', { class: 'unstable', testid: 'partial-unstable', text: p.unstable || '' }),
        h('span', { class: 'tr-dots', text: ` · ${t('ex.tr.partial')}` }),
      ),
    );
  }

  function drawTranscript() {
    replace(trList, model.finals.map(finalEl));
    trTrimmed.hidden = model.finals.length < MAX_FINALS;
    trEmpty.hidden = model.finals.length > 0 || !!model.partial;
    drawPartial();
    trScroll.scrollTop = trScroll.scrollHeight;
  }

  return { trPanel, trScroll, trEmpty, labels, addFinal, drawPartial, drawTranscript, trStickToBottom };
}
