// Printable per-candidate report (#/interviews/<id>/report), from GET /api/interviews/{id}/report.
// AI suggestions, human scores and the final value are kept in separate columns.

import { h, button, replace } from '../common/dom.js';
import { API, roleOf } from '../staff/api.js';
import { t, pick } from '../staff/i18n.js';
import { card, dataTable, errorBanner, pageHeader, fmtDate, statusBadge } from '../staff/ui.js';
import { fmtNum, fmtFixed } from './stats.js';
import { modeBadge, personalInfo, personalisedNote, developmentBlock } from '../staff/reportparts.js';

export const CAN_SEE_REPORTS = new Set(['admin', 'hr', 'examiner']);
export const canSeeReports = (session) => CAN_SEE_REPORTS.has(roleOf(session));

const dash = (v) => (v === null || v === undefined || v === '' ? '—' : v);

function list(items, render, emptyKey, testid) {
  if (!items || !items.length) return h('p', { class: 'muted', testid, text: t(emptyKey) });
  return h(
    'ul',
    { class: 'report-list', testid },
    items.map((x) => h('li', {}, render(x))),
  );
}

export function renderReport(main, ctx, interviewId) {
  const back = h('a', {
    class: 'btn ghost no-print',
    href: `#/interviews/${encodeURIComponent(interviewId)}`,
    text: `← ${t('report.backToInterview')}`,
  });
  const print = button({
    class: 'btn primary no-print',
    testid: 'report-print',
    text: t('report.print'),
    on: { click: () => window.print() },
  });
  const head = pageHeader(t('common.loading'), back, print);
  const banner = h('div', { hidden: true });
  const body = h(
    'article',
    { class: 'report', testid: 'report-view', 'aria-busy': 'true' },
    h('p', { class: 'muted', text: t('common.loading') }),
  );
  replace(main, head, banner, body);
  if (!canSeeReports(ctx.session)) {
    replace(body);
    body.removeAttribute('aria-busy');
    banner.hidden = false;
    replace(banner, h('div', { class: 'banner error', role: 'alert', text: t('err.forbidden') }));
    return () => {};
  }

  API.report(interviewId)
    .then((r) => {
      if (!ctx.alive) return;
      body.removeAttribute('aria-busy');
      const cand = r.candidate || {};
      const job = r.job || {};
      if (job.id) {
        back.href = `#/jobs/${encodeURIComponent(job.id)}`;
        back.textContent = `← ${job.title || t('iv.backToJob')}`;
      }
      replace(head, ...pageHeader(t('report.title'), back, print).childNodes);
      const match = r.job_match_percent;
      const dims = Array.isArray(r.dimensions) ? r.dimensions : [];

      const summary = h(
        'section',
        { class: 'card report-summary' },
        h(
          'div',
          { class: 'report-who' },
          h('h2', { class: 'report-name', testid: 'report-candidate', text: cand.name || r.interview_id }),
          h('p', { class: 'muted' }, [cand.email, cand.phone].filter(Boolean).join(' · ')),
          h('p', {}, h('strong', { text: job.title || '' }), job.department ? ` · ${job.department}` : ''),
          h(
            'p',
            { class: 'muted small' },
            `${t('col.status')}: `,
            statusBadge(r.status),
            ` · ${t('report.generated')}: ${fmtDate(new Date().toISOString())}`,
          ),
          r.mode ? h('p', { class: 'report-mode' }, modeBadge(r.mode)) : null,
        ),
        h(
          'div',
          { class: 'report-match' },
          h('div', { class: 'metric-label', text: t('report.jobMatch') }),
          h(
            'div',
            { class: 'match-value' },
            h('span', {
              class: 'match-n',
              testid: 'report-job-match',
              text: match === null || match === undefined ? '—' : fmtNum(match, 1),
            }),
            match === null || match === undefined ? null : h('span', { class: 'metric-unit', text: '%' }),
          ),
          h('div', {
            class: 'muted small',
            text: t('report.overall', { ai: fmtNum(r.overall_ai), final: fmtNum(r.overall_final) }),
          }),
        ),
      );

      const note = h('p', { class: 'banner info report-note', text: pick(r.note) || t('report.note') });

      const dimTable = card(
        { title: t('report.dimensions') },
        dims.length === 0
          ? h('p', { class: 'muted', text: t('report.noDims') })
          : dataTable(
              { class: 'table report-dims keep', testid: 'report-dimensions' },
              [
                t('stats.dimension'),
                { text: t('stats.weight'), class: 'num' },
                { text: t('report.ai'), class: 'num col-ai' },
                { text: t('report.human'), class: 'col-human' },
                { text: t('report.final'), class: 'num col-final' },
                t('report.why'),
              ],
              dims.map((d) =>
                h(
                  'tr',
                  { testid: `report-dim-${d.dimension}`, dataset: { source: d.source || '' } },
                  h('th', { scope: 'row', text: pick(d.name) || d.dimension }),
                  h('td', { class: 'num', text: d.weight === undefined ? '—' : Number(d.weight).toFixed(2) }),
                  h('td', {
                    class: 'num col-ai',
                    testid: 'dim-ai',
                    text: dash(d.ai_value === null || d.ai_value === undefined ? null : fmtFixed(d.ai_value, 1)),
                  }),
                  h(
                    'td',
                    { class: 'col-human', testid: 'dim-human' },
                    (d.human || []).length === 0
                      ? '—'
                      : h(
                          'ul',
                          { class: 'plain human-list' },
                          d.human.map((x) =>
                            h(
                              'li',
                              {},
                              h('strong', { text: fmtFixed(x.value, 1) }),
                              ' ',
                              h('span', {
                                class: 'muted small',
                                text: `${x.reviewer || ''}${x.at ? ` · ${fmtDate(x.at)}` : ''}`,
                              }),
                              x.comment ? h('div', { class: 'small', text: x.comment }) : null,
                            ),
                          ),
                        ),
                  ),
                  h(
                    'td',
                    { class: 'num col-final', testid: 'dim-final' },
                    h('strong', {
                      text: dash(
                        d.final_value === null || d.final_value === undefined ? null : fmtFixed(d.final_value, 1),
                      ),
                    }),
                    d.source && d.source !== 'none'
                      ? h('span', {
                          class: `badge subtle source-${d.source}`,
                          text: t(`report.source.${d.source}`),
                        })
                      : null,
                  ),
                  h('td', { class: 'small' }, pick(d.ai_reason) || '—'),
                ),
              ),
            ),
        h('p', { class: 'muted small', text: t('report.finalRule') }),
      );

      // Strengths, then weaknesses (with the training that would help): each point with its why.
      const words = h(
        'div',
        { class: 'grid two report-words' },
        [
          ['strengths', 'report.noneStrengths', null],
          ['weaknesses', 'report.noneWeaknesses', developmentBlock(r.development, { testid: 'report-development' })],
        ].map(([kind, emptyKey, more]) =>
          card(
            { title: t(`report.${kind}`) },
            list(
              r[kind],
              (s) => [
                h('span', { text: pick(s) }),
                pick(s.why) ? h('div', { class: 'muted small', text: pick(s.why) }) : null,
              ],
              emptyKey,
              `report-${kind}`,
            ),
            more,
          ),
        ),
      );

      const flags = card(
        { title: t('report.flags') },
        list(
          r.flags,
          (f) => [
            h('strong', { text: t(`flag.${f.type}`, {}, f.type) }),
            ' ',
            h('span', { class: 'muted', text: t('report.flagCount', { n: f.count, s: fmtNum(f.total_s, 1) }) }),
          ],
          'report.noFlags',
          'report-flags',
        ),
        h('p', { class: 'muted small', text: t('report.flagsNote') }),
      );

      const decisions = card(
        { title: t('report.decisions') },
        list(
          r.decisions,
          (d) => [
            h('strong', { text: d.reviewer || '' }),
            ': ',
            h('span', {
              class: `badge rec rec-${d.recommendation}`,
              text: t(`rec.${d.recommendation}`, {}, d.recommendation),
            }),
            d.created_at ? h('span', { class: 'muted small', text: ` ${fmtDate(d.created_at)}` }) : null,
            d.comment ? h('div', { class: 'small', text: d.comment }) : null,
          ],
          'report.noDecisions',
          'report-decisions',
        ),
      );

      const answers =
        Array.isArray(r.answers) && r.answers.length
          ? card(
              { title: t('iv.answers'), class: 'report-answers' },
              h(
                'ol',
                { class: 'plain answers-list' },
                r.answers.map((a) =>
                  h(
                    'li',
                    { testid: `report-answer-${a.index ?? 0}` },
                    h('p', { class: 'strong' }, `${(a.index ?? 0) + 1}. `, pick(a.question)),
                    personalisedNote(personalInfo(a), { testid: `report-personalised-${a.index ?? 0}` }),
                    a.transcript
                      ? h(
                          'p',
                          {},
                          h('span', { class: 'muted small', text: `${t('report.transcript')}: ` }),
                          a.transcript,
                        )
                      : null,
                    a.text_answer
                      ? h('p', {}, h('span', { class: 'muted small', text: `${t('iv.textAnswer')}: ` }), a.text_answer)
                      : null,
                    !a.transcript && !a.text_answer ? h('p', { class: 'muted small', text: t('iv.empty') }) : null,
                  ),
                ),
              ),
            )
          : null;

      replace(body, summary, note, dimTable, words, flags, decisions, answers);
    })
    .catch((e) => {
      if (!ctx.alive) return;
      body.removeAttribute('aria-busy');
      replace(body);
      replace(head, ...pageHeader(t('report.title'), back).childNodes);
      errorBanner(banner, e);
    });

  return () => {};
}
