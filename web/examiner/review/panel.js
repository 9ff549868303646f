// The decision panel of the review page: job match, strengths and weaknesses, per dimension
// the AI suggestion and the human scores kept apart (with an override that needs a comment),
// advance / hold / reject, and every reviewer's recommendation.

import { h, replace, nextId, showError } from '../../common/dom.js';
import { ApiError, session } from '../../staff/api.js';
import { card, errorText, fmtDate } from '../../staff/ui.js';
import { t, pick } from '../../staff/i18n.js';
import { developmentBlock } from '../../staff/reportparts.js';
import { evidenceList } from '../liveview/common.js';
import { RECOMMENDATIONS, isNum, fmt1, ReviewAPI } from './common.js';

/**
 * The decision panel of the review page's `model` drawn into `panelBox`; `status()` is the
 * interview's status, `onDrawn()` runs after each draw. What was typed survives a redraw.
 */
export function decisionPanel(ctx, interviewId, model, panelBox, { status, onDrawn }) {
  const drafts = new Map(); // form key -> {field: value}
  const notices = new Map(); // form key -> text shown once after a save

  function draft(key) {
    if (!drafts.has(key)) drafts.set(key, {});
    return drafts.get(key);
  }

  function fieldBox(label, input, key, name, prefix) {
    input.id = input.id || nextId('rv');
    const err = h('p', {
      class: 'field-error',
      role: 'alert',
      hidden: true,
      id: `${input.id}-err`,
      testid: `${prefix}-error-${name}`,
    });
    input.setAttribute('aria-describedby', err.id);
    input.addEventListener('input', () => {
      draft(key)[name] = input.value;
    });
    return { wrap: h('div', { class: 'field' }, h('label', { for: input.id, text: label }), input, err), err };
  }

  /** Show a 422's per-field rows next to their fields; anything else in `general`. */
  function showApiErrors(e, fields, general, messages) {
    for (const f of Object.values(fields)) showError(f.err, []);
    showError(general, []);
    const rows = e instanceof ApiError ? e.errors : [];
    let placed = false;
    for (const row of rows) {
      const f = fields[row.field];
      if (!f) continue;
      showError(f.err, messages[row.field] || row.message);
      f.err.previousElementSibling.setAttribute('aria-invalid', 'true');
      placed = true;
    }
    // 409 `not_completed`: too early to decide; another 409 (a dimension not in the job's model) says why
    if (!placed) showError(general, e.code === 'not_completed' ? t('ex.rv.decisionOnlyCompleted') : errorText(e));
  }

  /**
   * A form of the decision panel (a score override, the decision) that saves through `send()`:
   * its error line, its "saved" note (kept over the panel's redraw), its submit button, and a
   * 422's rows next to `fields` (with each field's own message from `messages`).
   */
  function panelForm(key, prefix, { attrs, button, children, fields, messages, send }) {
    const general = h('p', { class: 'form-error', role: 'alert', hidden: true, testid: `${prefix}-error` });
    const ok = h('p', {
      class: 'ok-text small',
      role: 'status',
      testid: `${prefix}-saved`,
      hidden: !notices.has(key),
      text: notices.get(key) || '',
    });
    notices.delete(key);
    const submit = h('button', { type: 'submit', class: button.class, testid: `${prefix}-submit`, ...button });
    const form = h(
      'form',
      { class: attrs.class, novalidate: true, testid: `${prefix}-form`, ...attrs },
      children,
      general,
      h('div', { class: 'form-actions left' }, submit, ok),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (submit.disabled) return;
      submit.disabled = true;
      ok.hidden = true;
      for (const f of Object.values(fields)) f.err.previousElementSibling.removeAttribute('aria-invalid');
      try {
        const report = await send();
        if (!ctx.alive) return;
        drafts.delete(key);
        notices.set(key, t('ex.rv.saved'));
        model.report = report;
        drawPanel();
      } catch (e) {
        if (!ctx.alive) return;
        showApiErrors(e, fields, general, messages);
        submit.disabled = false;
      }
    });
    return form;
  }

  function overrideForm(dim) {
    const key = `override-${dim.dimension}`;
    const saved = draft(key);
    const value = h('input', {
      type: 'number',
      min: '0',
      max: '10',
      step: '0.1',
      inputmode: 'decimal',
      testid: 'override-value',
      class: 'rv-value-input',
    });
    const comment = h('textarea', { rows: '2', maxlength: '2000', testid: 'override-comment' });
    value.value = saved.value || '';
    comment.value = saved.comment || '';
    const fv = fieldBox(t('ex.rv.value'), value, key, 'value', 'override');
    const fc = fieldBox(t('ex.rv.comment'), comment, key, 'comment', 'override');
    return panelForm(key, 'override', {
      attrs: { class: 'rv-override', dataset: { dimension: dim.dimension } },
      button: { class: 'btn primary small', text: t('ex.rv.save') },
      children: [
        h('p', { class: 'rv-label', text: t('ex.rv.override') }),
        h('div', { class: 'rv-override-fields' }, fv.wrap, fc.wrap),
      ],
      fields: { value: fv, comment: fc },
      messages: { value: t('ex.rv.err.value'), comment: t('ex.rv.err.comment') },
      send: () => {
        const raw = value.value.trim();
        return ReviewAPI.review(interviewId, {
          dimension: dim.dimension,
          value: raw === '' || !isNum(raw) ? null : Number(raw),
          comment: comment.value,
        });
      },
    });
  }

  function dimensionEl(dim) {
    const name = pick(dim.name) || dim.dimension;
    const hasAi = isNum(dim.ai_value);
    const ev = Array.isArray(dim.ai_evidence) ? dim.ai_evidence : [];
    const aiBox = h(
      'div',
      { class: 'rv-ai', testid: `ai-suggestion-${dim.dimension}` },
      h(
        'div',
        { class: 'rv-box-head' },
        h('span', { class: 'badge ai', text: t('ex.rv.ai') }),
        h('span', {
          class: 'rv-num',
          testid: 'ai-value',
          text: hasAi ? `${fmt1(dim.ai_value)}${t('ex.sc.of10')}` : t('ex.none'),
        }),
      ),
      hasAi
        ? h('p', { class: 'sc-reason', text: pick(dim.ai_reason) })
        : h('p', { class: 'muted small', text: t('ex.rv.aiNone') }),
      ev.length
        ? h(
            'details',
            { class: 'sc-details' },
            h('summary', { text: t('ex.sc.evidence', { n: ev.length }) }),
            evidenceList(ev, `ai-evidence-${dim.dimension}`),
          )
        : null,
    );
    const human = Array.isArray(dim.human) ? dim.human : [];
    const me = (session.get() && session.get().user && session.get().user.username) || '';
    const humanBox = h(
      'div',
      { class: 'rv-human', testid: `human-scores-${dim.dimension}` },
      h('div', { class: 'rv-box-head' }, h('span', { class: 'badge human', text: t('ex.rv.human') })),
      human.length
        ? h(
            'ul',
            { class: 'rv-human-list' },
            human.map((r) =>
              h(
                'li',
                { testid: 'human-score', dataset: { reviewer: r.reviewer || '' } },
                h(
                  'div',
                  { class: 'rv-human-top' },
                  h('strong', { text: `${r.reviewer || '?'}${r.reviewer && r.reviewer === me ? t('ex.rv.you') : ''}` }),
                  h('span', { class: 'rv-num', testid: 'human-value', text: `${fmt1(r.value)}${t('ex.sc.of10')}` }),
                ),
                r.comment ? h('p', { class: 'rv-comment', text: r.comment }) : null,
                r.at ? h('p', { class: 'muted small', text: fmtDate(r.at) }) : null,
              ),
            ),
          )
        : h('p', { class: 'muted small', text: t('ex.rv.humanNone') }),
    );
    const source = dim.source || 'none';
    const final = h(
      'p',
      { class: `rv-final src-${source}`, testid: `final-value-${dim.dimension}`, dataset: { source } },
      h('span', { text: t('ex.rv.final') }),
      h('strong', { text: isNum(dim.final_value) ? `${fmt1(dim.final_value)}${t('ex.sc.of10')}` : t('ex.none') }),
      h('span', { class: 'muted small', text: t(`ex.rv.source.${source}`, {}, source) }),
    );
    return h(
      'div',
      { class: 'rv-dim', testid: `review-dim-${dim.dimension}`, dataset: { dimension: dim.dimension } },
      h(
        'div',
        { class: 'rv-dim-head' },
        h('h3', { class: 'rv-dim-name', text: name }),
        h('span', {
          class: 'muted small',
          text: t('ex.rv.weight', { w: `${Math.round(Number(dim.weight || 0) * 100)}%` }),
        }),
      ),
      h('div', { class: 'rv-compare' }, aiBox, humanBox),
      final,
      overrideForm(dim),
    );
  }

  function decisionForm() {
    const key = 'decision';
    const saved = draft(key);
    const completed = status() === 'completed';
    const select = h(
      'select',
      { testid: 'decision-select', disabled: !completed },
      h('option', { value: '', text: t('ex.rv.recChoose') }),
      RECOMMENDATIONS.map((r) => h('option', { value: r, text: t(`ex.rv.rec.${r}`) })),
    );
    const me = (session.get() && session.get().user && session.get().user.username) || '';
    const mine = ((model.report && model.report.decisions) || []).find((d) => d.reviewer === me);
    select.value = saved.recommendation ?? (mine ? mine.recommendation : '');
    const comment = h('textarea', { rows: '2', maxlength: '2000', testid: 'decision-comment', disabled: !completed });
    comment.value = saved.comment ?? (mine ? mine.comment || '' : '');
    const fs = fieldBox(t('ex.rv.recommendation'), select, key, 'recommendation', 'decision');
    select.addEventListener('change', () => {
      draft(key).recommendation = select.value;
    });
    const fc = fieldBox(t('ex.rv.decisionComment'), comment, key, 'comment', 'decision');
    return panelForm(key, 'decision', {
      attrs: { class: 'rv-decision' },
      button: { class: 'btn primary', disabled: !completed, text: t('ex.rv.decide') },
      children: [
        completed
          ? null
          : h('p', {
              class: 'banner',
              role: 'note',
              testid: 'decision-disabled',
              text: t('ex.rv.decisionOnlyCompleted'),
            }),
        fs.wrap,
        fc.wrap,
      ],
      fields: { recommendation: fs, comment: fc },
      messages: { recommendation: t('ex.rv.err.recommendation'), comment: t('ex.rv.err.commentLong') },
      send: () => ReviewAPI.decision(interviewId, { recommendation: select.value || null, comment: comment.value }),
    });
  }

  function decisionsList(decisions) {
    if (!decisions.length)
      return h('p', { class: 'muted small', testid: 'decisions-list', text: t('ex.rv.decisionsNone') });
    const me = (session.get() && session.get().user && session.get().user.username) || '';
    return h(
      'ul',
      { class: 'rv-decisions', testid: 'decisions-list' },
      decisions.map((d) =>
        h(
          'li',
          { testid: 'decision-item', dataset: { reviewer: d.reviewer || '', recommendation: d.recommendation || '' } },
          h(
            'div',
            { class: 'rv-human-top' },
            h('strong', { text: `${d.reviewer || '?'}${d.reviewer && d.reviewer === me ? t('ex.rv.you') : ''}` }),
            h('span', {
              class: `badge rec rec-${d.recommendation}`,
              text: t(`ex.rv.rec.${d.recommendation}`, {}, d.recommendation),
            }),
          ),
          d.comment ? h('p', { class: 'rv-comment', text: d.comment }) : null,
          d.created_at ? h('p', { class: 'muted small', text: fmtDate(d.created_at) }) : null,
        ),
      ),
    );
  }

  function plainList(items, testid) {
    return items.length
      ? h(
          'ul',
          { class: 'rv-plain', testid },
          items.map((s) => h('li', { text: pick(s) })),
        )
      : h('p', { class: 'muted small', testid, text: t('ex.rv.none') });
  }

  function drawPanel() {
    const r = model.report;
    if (model.reportError) {
      const e = model.reportError;
      replace(
        panelBox,
        card(
          { title: t('ex.rv.panel'), class: 'rv-panel', testid: 'decision-panel' },
          h('p', {
            class: 'muted',
            testid: 'panel-error',
            text: errorText(e, { 403: t('ex.rv.noScoresRole') }),
          }),
        ),
      );
      return;
    }
    if (!r) {
      replace(
        panelBox,
        h('section', { class: 'card rv-panel' }, h('p', { class: 'muted', text: t('common.loading') })),
      );
      return;
    }
    const match = isNum(r.job_match_percent) ? `${fmt1(r.job_match_percent)}%` : t('ex.rv.jobMatchNone');
    const flags = Array.isArray(r.flags) ? r.flags : [];
    replace(
      panelBox,
      h(
        'section',
        { class: 'card rv-panel', testid: 'decision-panel' },
        h('div', { class: 'card-head' }, h('h2', { class: 'card-title', text: t('ex.rv.panel') })),
        h(
          'div',
          { class: 'rv-match' },
          h('span', { class: 'rv-match-label', text: t('ex.rv.jobMatch') }),
          h('strong', {
            class: 'rv-match-value',
            testid: 'job-match',
            dataset: { value: isNum(r.job_match_percent) ? String(r.job_match_percent) : '' },
            text: match,
          }),
          h('span', {
            class: 'muted small',
            text: [
              isNum(r.overall_ai) ? t('ex.rv.overallAi', { v: fmt1(r.overall_ai) }) : null,
              isNum(r.overall_final) ? t('ex.rv.overallFinal', { v: fmt1(r.overall_final) }) : null,
            ]
              .filter(Boolean)
              .join(' · '),
          }),
          h('p', { class: 'muted small rv-match-note', text: t('ex.rv.matchNote') }),
        ),
        h(
          'div',
          { class: 'rv-sw' },
          h(
            'div',
            {},
            h('h3', { class: 'rv-sub', text: t('ex.rv.strengths') }),
            plainList(r.strengths || [], 'strengths'),
          ),
          h(
            'div',
            {},
            h('h3', { class: 'rv-sub', text: t('ex.rv.weaknesses') }),
            plainList(r.weaknesses || [], 'weaknesses'),
          ),
        ),
        developmentBlock(r.development, { testid: 'development' }),
        flags.length
          ? h(
              'div',
              {},
              h('h3', { class: 'rv-sub', text: t('ex.rv.reportFlags') }),
              h(
                'ul',
                { class: 'rv-plain', testid: 'flags-summary' },
                flags.map((f) =>
                  h(
                    'li',
                    {},
                    h('strong', { text: t(`flag.${f.type}`, {}, f.type) }),
                    ' ',
                    t('ex.rv.flagCount', { n: f.count, s: fmt1(f.total_s) }),
                  ),
                ),
              ),
            )
          : null,
      ),
      card(
        { title: t('ex.rv.dims'), class: 'rv-panel', testid: 'dimensions' },
        h('p', { class: 'ai-inline small', text: t('ex.rv.dimsNote') }),
        (r.dimensions || []).map(dimensionEl),
      ),
      card(
        { title: t('ex.rv.decision'), class: 'rv-panel', testid: 'decision-section' },
        decisionForm(),
        h('h3', { class: 'rv-sub', text: t('ex.rv.decisions') }),
        decisionsList(Array.isArray(r.decisions) ? r.decisions : []),
      ),
    );
    onDrawn();
  }

  return { drawPanel };
}
