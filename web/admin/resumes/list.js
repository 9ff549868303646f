// The candidate list of the résumé intake: status filters and the table, best match first.

import { h, button, replace } from '../../common/dom.js';
import { t } from '../../staff/i18n.js';
import { card, dataTable, emptyNote } from '../../staff/ui.js';
import { degreeLabel } from '../screening.js';
import {
  CANDIDATE_STATUSES,
  fmt1,
  displayName,
  baseName,
  candidateStatusBadge,
  scoreMeter,
  eligibleMark,
} from './common.js';

export function candidateList(ctx, state, onOpen) {
  const filters = h('div', {
    class: 'seg',
    role: 'group',
    'aria-label': t('res.filter.label'),
    testid: 'candidate-filters',
  });
  const body = h('div', {});
  const el = card(
    { id: 'res-cands-h', title: t('res.cands.title'), testid: 'resume-candidates', aside: filters },
    h('p', { class: 'muted small threshold-note', testid: 'threshold-note', text: t('res.thresholdNote') }),
    body,
  );

  function drawFilters() {
    const count = (s) =>
      s === 'all' ? state.candidates.length : state.candidates.filter((c) => c.status === s).length;
    replace(
      filters,
      ['all', ...CANDIDATE_STATUSES].map((s) =>
        button(
          {
            class: `btn small seg-btn${state.filter === s ? ' active' : ''}`,
            'aria-pressed': state.filter === s ? 'true' : 'false',
            testid: `filter-${s.replace(/_/g, '-')}`,
            on: {
              click: () => {
                state.filter = s;
                draw();
              },
            },
          },
          h('span', { text: s === 'all' ? t('res.filter.all') : t(`cstatus.${s}`) }),
          ' ',
          h('span', { class: 'seg-n', text: String(count(s)) }),
        ),
      ),
    );
  }

  function row(c) {
    const id = c.candidate_id;
    const match = c.match || {};
    const score = Number(match.score) || 0;
    const open = button({
      class: 'linklike',
      testid: `cand-open-${id}`,
      text: displayName(c),
      on: {
        click: (ev) => {
          ev.stopPropagation();
          onOpen(c);
        },
      },
    });
    const tr = h(
      'tr',
      {
        class: 'clickable',
        testid: `cand-row-${id}`,
        dataset: { candidateId: id, status: c.status, name: c.name || '' },
      },
      h(
        'td',
        { dataset: { label: t('res.col.name') } },
        open,
        h('div', { class: 'muted small', text: baseName(c.filename) }),
      ),
      h(
        'td',
        { dataset: { label: t('res.col.degree') } },
        c.highest_degree ? degreeLabel(c.highest_degree) : h('span', { class: 'muted', text: t('res.unknown') }),
      ),
      h(
        'td',
        { class: 'num', dataset: { label: t('res.col.years') } },
        t('res.years', { n: fmt1(c.experience_years) }),
      ),
      h(
        'td',
        { dataset: { label: t('res.col.score') } },
        h(
          'div',
          { class: 'score' },
          scoreMeter(score, { 'aria-label': t('res.scoreOf', { n: fmt1(score) }) }),
          h('span', { class: 'score-n', testid: 'cand-score', text: fmt1(score) }),
        ),
      ),
      h('td', { dataset: { label: t('res.col.eligible') } }, eligibleMark(match.eligible)),
      h('td', { dataset: { label: t('res.col.status') } }, candidateStatusBadge(c.status)),
    );
    tr.addEventListener('click', () => onOpen(c));
    return tr;
  }

  function draw() {
    drawFilters();
    if (!state.loaded) {
      replace(body, h('p', { class: 'muted', text: t('common.loading') }));
      return;
    }
    const shown = state.filter === 'all' ? state.candidates : state.candidates.filter((c) => c.status === state.filter);
    if (!shown.length) {
      const empty = state.candidates.length ? 'res.cands.emptyFilter' : 'res.cands.empty';
      replace(body, emptyNote(t(empty), 'candidates-empty'));
      return;
    }
    replace(
      body,
      dataTable(
        { class: 'table cands', testid: 'candidates-table' },
        ['name', 'degree', 'years', 'score', 'eligible', 'status'].map((k) =>
          k === 'years' ? { text: t(`res.col.${k}`), class: 'num' } : t(`res.col.${k}`),
        ),
        shown.map(row),
      ),
    );
  }

  draw();
  return { el, draw };
}
