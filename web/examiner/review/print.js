// The printable report of the review page, drawn on this page when no report window opens.

import { h, button, replace } from '../../common/dom.js';
import { t, pick } from '../../staff/i18n.js';
import { personalInfo, personalisedNote, developmentBlock } from '../../staff/reportparts.js';
import { modeBadge } from '../liveview/common.js';
import { isNum, fmt1 } from './common.js';

/** The printable report of the review page's `model` in `printBox`; `mode()` as on the page. */
export function printView(model, printBox, mode) {
  let printShown = false;

  function drawPrint() {
    const r = model.report;
    if (!r) return;
    const cand = r.candidate || {};
    const job = r.job || {};
    const heads = ['dimension', 'weight', 'ai', 'human', 'final', 'why'].map((k) =>
      h('th', { scope: 'col', text: t(`ex.rv.pr.${k}`) }),
    );
    const li = (items, fn) => (items.length ? items.map(fn) : [h('li', { text: t('ex.none') })]);
    const printBtn = button({
      class: 'btn primary',
      testid: 'print-button',
      text: t('ex.rv.print'),
    });
    printBtn.addEventListener('click', () => window.print());
    const closeBtn = button({ class: 'btn ghost', text: t('ex.rv.closePrint') });
    closeBtn.addEventListener('click', () => {
      printShown = false;
      printBox.hidden = true;
      document.body.classList.remove('rv-print-mode');
    });
    replace(
      printBox,
      h('div', { class: 'rv-print-actions' }, printBtn, closeBtn),
      h('h2', { id: 'rv-print-title', class: 'rv-print-h1', text: t('ex.rv.pr.title') }),
      h('p', {
        text: [cand.name, cand.email, job.title && `${job.title}${job.department ? ` (${job.department})` : ''}`]
          .filter(Boolean)
          .join(' · '),
      }),
      modeBadge(r.mode || mode()),
      h(
        'p',
        { class: 'rv-print-match' },
        `${t('ex.rv.jobMatch')}: `,
        h('strong', { text: isNum(r.job_match_percent) ? `${fmt1(r.job_match_percent)}%` : t('ex.none') }),
      ),
      r.note ? h('p', { class: 'ai-note', text: pick(r.note) }) : null,
      h('h3', { text: t('ex.rv.dims') }),
      h(
        'table',
        { class: 'table rv-print-table' },
        h('thead', {}, h('tr', {}, heads)),
        h(
          'tbody',
          {},
          (r.dimensions || []).map((d) =>
            h(
              'tr',
              {},
              h('td', { text: pick(d.name) || d.dimension }),
              h('td', { text: Number(d.weight || 0).toFixed(2) }),
              h('td', { text: isNum(d.ai_value) ? fmt1(d.ai_value) : t('ex.none') }),
              h('td', {
                text:
                  (d.human || [])
                    .map((x) => `${x.reviewer}: ${fmt1(x.value)}${x.comment ? ` (${x.comment})` : ''}`)
                    .join('; ') || t('ex.none'),
              }),
              h('td', {}, h('strong', { text: isNum(d.final_value) ? fmt1(d.final_value) : t('ex.none') })),
              h('td', { text: pick(d.ai_reason) }),
            ),
          ),
        ),
      ),
      h('h3', { text: t('ex.rv.strengths') }),
      h(
        'ul',
        {},
        li(r.strengths || [], (s) => h('li', { text: pick(s) })),
      ),
      h('h3', { text: t('ex.rv.weaknesses') }),
      h(
        'ul',
        {},
        li(r.weaknesses || [], (s) => h('li', { text: pick(s) })),
      ),
      developmentBlock(r.development, { testid: 'print-development' }),
      h('h3', { text: t('ex.rv.reportFlags') }),
      h(
        'ul',
        {},
        li(r.flags || [], (f) =>
          h('li', {
            text: `${t(`flag.${f.type}`, {}, f.type)}: ${t('ex.rv.flagCount', { n: f.count, s: fmt1(f.total_s) })}`,
          }),
        ),
      ),
      h('h3', { text: t('ex.rv.decisions') }),
      h(
        'ul',
        {},
        li(r.decisions || [], (d) =>
          h(
            'li',
            {},
            `${d.reviewer}: `,
            h('strong', { text: t(`ex.rv.rec.${d.recommendation}`, {}, d.recommendation) }),
            d.comment ? ` — ${d.comment}` : '',
          ),
        ),
      ),
      h('h3', { text: t('ex.rv.answers') }),
      (r.answers || []).map((a) =>
        h(
          'div',
          { class: 'rv-print-answer' },
          h('p', { class: 'strong', text: `${t('ex.rv.q', { n: a.index + 1 })} · ${pick(a.question)}` }),
          personalisedNote(personalInfo(a), { testid: `print-personalised-${a.index}` }),
          a.transcript ? h('p', { text: a.transcript }) : null,
          a.text_answer ? h('pre', { class: 'textbox rv-pre', text: a.text_answer }) : null,
          isNum(a.answer_used_s)
            ? h('p', {
                class: 'muted small',
                text: `${t('ex.rv.timeUsed')}: ${t('ex.rv.seconds', { s: fmt1(a.answer_used_s) })}`,
              })
            : null,
        ),
      ),
    );
  }

  function showPrintSection() {
    printShown = true;
    drawPrint();
    printBox.hidden = false;
    document.body.classList.add('rv-print-mode');
    printBox.scrollIntoView({ block: 'start' });
  }

  return { drawPrint, showPrintSection, shown: () => printShown };
}
