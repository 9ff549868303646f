// The live view's score panel: one row per dimension (the AI's suggestion, with its evidence)
// and the overall score.

import { h, replace, clear } from '../../common/dom.js';
import { t, localReason } from '../../staff/i18n.js';
import { competencyName } from '../../staff/ui.js';
import { num, evidenceList, panelHead } from './common.js';

/** The score panel over the live view's `model` (its scores and detail). */
export function scoresPanel(model) {
  const scRows = h('div', { class: 'sc-rows' });
  const scEmpty = h('p', { class: 'muted' });
  const scOverall = h('p', { class: 'sc-overall', testid: 'overall', hidden: true });
  const scPanel = h('section', { class: 'card panel scores', testid: 'live-scores' });
  const scoreEls = new Map(); // dimension -> {row, ...}

  function labels() {
    replace(
      scPanel,
      panelHead('ex.sc.title', h('span', { class: 'badge ai', text: t('ex.sc.suggestion') })),
      h('p', { class: 'ai-inline small', text: t('ex.ai.body') }),
      scOverall,
      scRows,
      scEmpty,
    );
    scEmpty.textContent = t('ex.sc.empty');
  }

  function scoreRow(dim) {
    let el = scoreEls.get(dim);
    if (el) return el;
    const name = h('span', { class: 'sc-name' });
    const value = h('span', { class: 'sc-value', testid: `score-value-${dim}` });
    const fill = h('span', { class: 'sc-fill' });
    const bar = h('span', { class: 'sc-bar', 'aria-hidden': 'true' }, fill);
    const reason = h('p', { class: 'sc-reason', testid: `score-reason-${dim}` });
    const summary = h('summary', {});
    const evBox = h('div', { class: 'sc-ev' });
    const details = h('details', { class: 'sc-details' }, summary, evBox);
    const row = h(
      'div',
      { class: 'sc-row', testid: 'score-row', dataset: { dimension: dim } },
      h('div', { class: 'sc-top' }, name, value),
      bar,
      reason,
      details,
    );
    el = { row, name, value, fill, bar, reason, summary, evBox, details };
    scoreEls.set(dim, el);
    scRows.appendChild(row);
    return el;
  }

  function drawScore(dim) {
    const s = model.scores.get(dim);
    if (!s) return;
    const el = scoreRow(dim);
    const v = Math.max(0, Math.min(10, Number(s.value) || 0));
    el.name.textContent = competencyName(dim);
    el.value.textContent = `${num(v)}${t('ex.sc.of10')}`;
    el.fill.style.width = `${v * 10}%`;
    el.fill.dataset.band = v >= 7 ? 'high' : v >= 4 ? 'mid' : 'low';
    el.row.setAttribute('aria-label', `${competencyName(dim)} ${num(v)}/10`);
    el.reason.textContent = localReason(s.reason);
    const evidence = Array.isArray(s.evidence) ? s.evidence : [];
    el.summary.textContent = t('ex.sc.evidence', { n: evidence.length });
    el.details.hidden = evidence.length === 0;
    replace(el.evBox, evidenceList(evidence, `score-evidence-${dim}`));
    el.row.classList.remove('bump');
    void el.row.offsetWidth;
    el.row.classList.add('bump');
  }

  function drawScores() {
    clear(scRows);
    scoreEls.clear();
    for (const dim of model.scores.keys()) drawScore(dim);
    for (const el of scoreEls.values()) el.row.classList.remove('bump');
    scEmpty.hidden = model.scores.size > 0;
    drawOverall();
  }

  function drawOverall() {
    const o = model.detail && model.detail.overall;
    scOverall.hidden = o === null || o === undefined;
    if (!scOverall.hidden) {
      replace(scOverall, h('span', { text: t('ex.sc.overall') }), h('strong', { text: `${num(o)}${t('ex.sc.of10')}` }));
    }
  }

  return { scPanel, scEmpty, scoreEls, labels, drawScore, drawScores, drawOverall };
}
