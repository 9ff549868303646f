// Statistics: one job (#/jobs/<id>/stats) and the cross-job comparison (#/stats). HR/admin only.
//
// Numbers come from GET /api/jobs/{id}/stats: job-match % over completed interviews that have
// a score; dimension averages use each dimension's *final* value (human override, else AI).

import { h, button, replace } from '../common/dom.js';
import { debounce } from '../common/timing.js';
import { API, roleOf } from '../staff/api.js';
import { t, getLang } from '../staff/i18n.js';
import {
  card,
  dataTable,
  countChips,
  errorBanner,
  pageHeader,
  backToJobs,
  competencyName,
  loadCompetencies,
  emptyNote,
} from '../staff/ui.js';
import { ChartSet, PALETTE, shorten } from './charts.js';

export const CAN_SEE_STATS = new Set(['admin', 'hr']);
export const canSeeStats = (session) => CAN_SEE_STATS.has(roleOf(session));

/** "76.47" (up to `digits` decimals, no grouping); "—" for null. */
export function fmtNum(v, digits = 2) {
  if (v === null || v === undefined || Number.isNaN(Number(v))) return '—';
  return new Intl.NumberFormat(getLang() === 'zh' ? 'zh-CN' : 'en-GB', {
    maximumFractionDigits: digits,
    useGrouping: false,
  }).format(Number(v));
}

/** Exactly `digits` decimals ("8.0"); "—" for null. For 0–10 scores. */
export function fmtFixed(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(Number(v))) return '—';
  return new Intl.NumberFormat(getLang() === 'zh' ? 'zh-CN' : 'en-GB', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
    useGrouping: false,
  }).format(Number(v));
}

function fmtDelta(v) {
  if (v === null || v === undefined) return '—';
  const r = Math.round(v * 10) / 10;
  if (r === 0) return '±0';
  return `${r > 0 ? '+' : '−'}${fmtNum(Math.abs(r), 1)}`;
}

/** "60-70" → "60–70". */
const bandLabel = (band) => String(band).replace('-', '–');

function forbidden(main, back) {
  replace(
    main,
    pageHeader(t('stats.title'), back),
    h('div', { class: 'banner error', role: 'alert', testid: 'stats-forbidden', text: t('stats.forbidden') }),
  );
}

function emptyState(text, testid = 'stats-empty') {
  return h(
    'div',
    { class: 'empty chart-empty', testid },
    h('p', { class: 'empty-title', text: t('stats.emptyTitle') }),
    h('p', { class: 'muted', text }),
  );
}

function metric(label, value, testid, unit = '%') {
  return h(
    'div',
    { class: 'metric' },
    h('div', { class: 'metric-label', text: label }),
    h(
      'div',
      { class: 'metric-value' },
      h('span', { class: 'metric-n', testid, text: typeof value === 'string' ? value : fmtNum(value) }),
      value === null || value === undefined || !unit ? null : h('span', { class: 'metric-unit', text: unit }),
    ),
  );
}

function statusTotal(counts) {
  return Object.values(counts || {}).reduce((a, b) => a + (Number(b) || 0), 0);
}

// ---------------------------------------------------------------- one job

export function renderJobStats(main, ctx, jobId) {
  const back = h('a', {
    class: 'btn ghost',
    href: `#/jobs/${encodeURIComponent(jobId)}`,
    text: `← ${t('stats.backToJob')}`,
  });
  if (!canSeeStats(ctx.session)) {
    forbidden(main, back);
    return () => {};
  }
  const compare = h('a', { class: 'btn', href: '#/stats', testid: 'stats-compare-link', text: t('stats.compare') });
  const head = pageHeader(t('common.loading'), back, compare);
  const banner = h('div', { hidden: true });
  const chips = countChips({});
  const headline = card(
    { id: 'stats-head-h', title: t('stats.headline'), testid: 'stats-headline' },
    h('p', { class: 'muted', text: t('common.loading') }),
  );
  const countsCard = card({ id: 'stats-counts-h', title: t('detail.counts'), class: 'counts-card' }, chips.el);
  const histCard = card({ id: 'stats-hist-h', title: t('stats.histogram') });
  const dimCard = card({ id: 'stats-dim-h', title: t('stats.dimensions') });
  replace(main, head, banner, headline, countsCard, h('div', { class: 'grid two charts' }, histCard, dimCard));

  const charts = new ChartSet(ctx);
  let job = null;

  async function load() {
    try {
      const [j, stats] = await Promise.all([
        job ? Promise.resolve(job) : API.job(jobId),
        API.jobStats(jobId),
        loadCompetencies().catch(() => null),
      ]);
      if (!ctx.alive) return;
      job = j;
      replace(head, ...pageHeader(t('stats.jobTitle', { title: job.title || jobId }), back, compare).childNodes);
      errorBanner(banner, null);
      draw(stats);
    } catch (e) {
      if (!ctx.alive) return;
      if (!job) replace(head, ...pageHeader(t('stats.title'), back, compare).childNodes);
      errorBanner(banner, e);
    }
  }

  function draw(stats) {
    charts.dispose();
    const counts = stats.counts || {};
    if (!ctx.live.topics.get(`job:${jobId}`)?.counts) chips.update(counts);
    const scored = Number(stats.scored || 0);
    replace(
      headline,
      h('h2', { id: 'stats-head-h', class: 'card-title', text: t('stats.headline') }),
      h(
        'div',
        { class: 'metrics' },
        metric(t('stats.scored'), String(scored), 'stats-scored', null),
        metric(t('stats.mean'), stats.mean, 'stats-mean'),
        metric(t('stats.median'), stats.median, 'stats-median'),
        metric(t('stats.max'), stats.max, 'stats-max'),
        metric(t('stats.min'), stats.min, 'stats-min'),
      ),
      h('p', {
        class: 'muted small',
        text: t('stats.basis', { completed: counts.completed || 0, total: statusTotal(counts) }),
      }),
    );

    // Histogram of job-match % bands.
    const histEl = h('div', {
      class: 'chart',
      testid: 'chart-histogram',
      role: 'img',
      'aria-label': t('stats.histogram'),
    });
    const bands = Array.isArray(stats.histogram) ? stats.histogram : [];
    replace(
      histCard,
      h('h2', { id: 'stats-hist-h', class: 'card-title', text: t('stats.histogram') }),
      scored === 0 ? emptyState(t('stats.emptyJob')) : histEl,
      scored === 0
        ? null
        : dataDetails(
            [t('stats.band'), t('stats.people')],
            bands.map((b) => [bandLabel(b.band), String(b.count)]),
            'stats-histogram-table',
          ),
    );
    if (scored > 0) {
      charts.add(histEl, {
        grid: { left: 44, right: 16, top: 28, bottom: 40 },
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        xAxis: {
          type: 'category',
          name: t('stats.bandAxis'),
          nameLocation: 'middle',
          nameGap: 26,
          data: bands.map((b) => bandLabel(b.band)),
        },
        yAxis: { type: 'value', name: t('stats.people'), minInterval: 1 },
        series: [
          {
            type: 'bar',
            name: t('stats.people'),
            data: bands.map((b) => b.count),
            barMaxWidth: 48,
            itemStyle: { color: PALETTE[0], borderRadius: [4, 4, 0, 0] },
            label: { show: true, position: 'top', formatter: (p) => (p.value ? String(p.value) : '') },
          },
        ],
      });
    }

    // Dimension averages, in the job's competency order (then any others the stats hold).
    const avg = stats.dimensions || {};
    const comps = (job.competencies || []).map((c) => ({
      id: c.id,
      name: competencyName(c.id, c.name),
      weight: c.weight,
    }));
    for (const id of Object.keys(avg))
      if (!comps.some((c) => c.id === id)) comps.push({ id, name: competencyName(id), weight: null });
    const withValue = comps.filter((c) => avg[c.id] !== undefined && avg[c.id] !== null);
    const dimEl = h('div', {
      class: 'chart',
      testid: 'chart-dimensions',
      role: 'img',
      'aria-label': t('stats.dimensions'),
    });
    replace(
      dimCard,
      h('h2', { id: 'stats-dim-h', class: 'card-title', text: t('stats.dimensions') }),
      withValue.length === 0 ? emptyState(t('stats.emptyJob'), 'stats-dimensions-empty') : dimEl,
      withValue.length === 0
        ? null
        : dataDetails(
            [t('stats.dimension'), t('stats.weight'), t('stats.average')],
            comps.map((c) => [
              c.name,
              c.weight === null || c.weight === undefined ? '—' : Number(c.weight).toFixed(2),
              fmtNum(avg[c.id]),
            ]),
            'stats-dimensions-table',
          ),
      withValue.length === 0 ? null : h('p', { class: 'muted small', text: t('stats.finalNote') }),
    );
    if (withValue.length) {
      const rows = [...withValue].reverse(); // first competency on top
      charts.add(dimEl, {
        grid: { left: 20, right: 40, top: 12, bottom: 24, containLabel: true },
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        xAxis: { type: 'value', min: 0, max: 10, interval: 2 },
        yAxis: {
          type: 'category',
          data: rows.map((c) => c.name),
          axisLabel: { width: 120, overflow: 'break', lineHeight: 14 },
        },
        series: [
          {
            type: 'bar',
            name: t('stats.average'),
            data: rows.map((c) => avg[c.id]),
            barMaxWidth: 22,
            itemStyle: { color: PALETTE[1], borderRadius: [0, 4, 4, 0] },
            label: { show: true, position: 'right', formatter: (p) => fmtFixed(p.value, 1) },
          },
        ],
      });
    }
  }

  const reloadSoon = debounce(load, 800);
  const unsub = ctx.live.subscribe(`job:${jobId}`, (msg) => {
    if (msg.counts) chips.update(msg.counts);
    if (msg.type === 'status' && msg.status === 'completed') reloadSoon();
  });
  load();
  return () => {
    unsub();
    charts.dispose();
  };
}

function dataDetails(header, rows, testid) {
  return h(
    'details',
    { class: 'data-table' },
    h('summary', { text: t('stats.showData') }),
    dataTable(
      { class: 'table compact keep', testid },
      header,
      rows.map((r) =>
        h(
          'tr',
          {},
          r.map((c, i) => h(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row', text: c } : { class: 'num', text: c })),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------- all jobs

export function renderCrossStats(main, ctx) {
  const back = backToJobs();
  if (!canSeeStats(ctx.session)) {
    forbidden(main, back);
    return () => {};
  }
  const refresh = button({
    class: 'btn',
    testid: 'stats-refresh',
    text: t('common.refresh'),
    on: { click: () => load() },
  });
  const banner = h('div', { hidden: true });
  const tableCard = card(
    { id: 'cross-table-h', title: t('stats.byJob') },
    h('p', { class: 'muted', text: t('common.loading') }),
  );
  const matchCard = card({ id: 'cross-match-h', title: t('stats.matchByJob') });
  const dimCard = card({ id: 'cross-dim-h', title: t('stats.dimsByJob') });
  replace(
    main,
    pageHeader(t('stats.crossTitle'), back, refresh),
    h('p', { class: 'muted page-intro', text: t('stats.crossIntro') }),
    banner,
    tableCard,
    matchCard,
    dimCard,
  );
  const charts = new ChartSet(ctx);

  async function load() {
    refresh.disabled = true;
    try {
      const [jobs] = await Promise.all([API.jobs(), loadCompetencies().catch(() => null)]);
      const list = Array.isArray(jobs) ? jobs : [];
      const settled = await Promise.allSettled(list.map((j) => API.jobStats(j.id)));
      if (!ctx.alive) return;
      errorBanner(banner, null);
      const rows = list.map((job, i) => ({
        job,
        stats: settled[i].status === 'fulfilled' ? settled[i].value : null,
        error: settled[i].reason,
      }));
      const failed = rows.filter((r) => !r.stats);
      if (failed.length) errorBanner(banner, failed[0].error);
      draw(rows.filter((r) => r.stats));
    } catch (e) {
      if (!ctx.alive) return;
      errorBanner(banner, e);
      replace(tableCard, h('h2', { id: 'cross-table-h', class: 'card-title', text: t('stats.byJob') }));
    } finally {
      refresh.disabled = false;
    }
  }

  function draw(rows) {
    charts.dispose();
    const scoredRows = rows.filter((r) => Number(r.stats.scored || 0) > 0);
    const totalScored = scoredRows.reduce((a, r) => a + Number(r.stats.scored), 0);
    const pooledMean = totalScored
      ? scoredRows.reduce((a, r) => a + Number(r.stats.mean) * Number(r.stats.scored), 0) / totalScored
      : null;
    const best = scoredRows.length > 1 ? Math.max(...scoredRows.map((r) => Number(r.stats.mean))) : null;
    const jobName = (r) => r.job.title || r.job.id;

    // Table: one row per job.
    const table =
      rows.length === 0
        ? emptyNote(t('jobs.empty'), 'stats-jobs-empty')
        : dataTable(
            { class: 'table stats-jobs keep', testid: 'stats-jobs-table' },
            [
              t('stats.col.job'),
              ...[
                'stats.col.interviews',
                'stats.col.completed',
                'stats.scored',
                'stats.mean',
                'stats.median',
                'stats.col.range',
                'stats.col.delta',
              ].map((k) => ({ text: t(k), class: 'num' })),
            ],
            rows.map((r) => {
              const s = r.stats;
              const scored = Number(s.scored || 0);
              const delta = scored && pooledMean !== null ? Number(s.mean) - pooledMean : null;
              const isBest = best !== null && scored && Number(s.mean) === best;
              return h(
                'tr',
                { testid: `stats-job-row-${r.job.id}`, class: isBest ? 'best' : null },
                h(
                  'th',
                  { scope: 'row' },
                  h('a', { href: `#/jobs/${encodeURIComponent(r.job.id)}/stats`, text: jobName(r) }),
                  r.job.department ? h('div', { class: 'muted small', text: r.job.department }) : null,
                ),
                h('td', { class: 'num', text: String(statusTotal(s.counts)) }),
                h('td', { class: 'num', text: String((s.counts || {}).completed || 0) }),
                h('td', { class: 'num', testid: 'row-scored', text: String(scored) }),
                h('td', { class: 'num strong', testid: 'row-mean', text: scored ? fmtNum(s.mean) : '—' }),
                h('td', { class: 'num', testid: 'row-median', text: scored ? fmtNum(s.median) : '—' }),
                h('td', { class: 'num', text: scored ? `${fmtNum(s.min, 1)}–${fmtNum(s.max, 1)}` : '—' }),
                h('td', {
                  class: `num delta ${delta === null ? '' : delta >= 0.05 ? 'up' : delta <= -0.05 ? 'down' : ''}`,
                  text: fmtDelta(delta),
                }),
              );
            }),
            {
              caption: t('stats.byJob'),
              foot:
                pooledMean === null
                  ? null
                  : h(
                      'tr',
                      {},
                      h('th', { scope: 'row', text: t('stats.allJobs') }),
                      h('td', {
                        class: 'num',
                        text: String(rows.reduce((a, r) => a + statusTotal(r.stats.counts), 0)),
                      }),
                      h('td', {
                        class: 'num',
                        text: String(rows.reduce((a, r) => a + Number((r.stats.counts || {}).completed || 0), 0)),
                      }),
                      h('td', { class: 'num', text: String(totalScored) }),
                      h('td', { class: 'num strong', text: fmtNum(pooledMean) }),
                      h('td', { colspan: '3', class: 'muted small', text: t('stats.pooledNote') }),
                    ),
            },
          );
    replace(
      tableCard,
      h('h2', { id: 'cross-table-h', class: 'card-title', text: t('stats.byJob') }),
      table,
      h('p', { class: 'muted small', text: t('stats.unitNote') }),
    );

    if (!scoredRows.length) {
      replace(
        matchCard,
        h('h2', { id: 'cross-match-h', class: 'card-title', text: t('stats.matchByJob') }),
        emptyState(t('stats.emptyAll')),
      );
      replace(
        dimCard,
        h('h2', { id: 'cross-dim-h', class: 'card-title', text: t('stats.dimsByJob') }),
        emptyState(t('stats.emptyAll'), 'stats-dims-empty'),
      );
      return;
    }

    // Mean / median job match per job.
    const matchEl = h('div', {
      class: 'chart',
      testid: 'chart-jobs-match',
      role: 'img',
      'aria-label': t('stats.matchByJob'),
    });
    replace(matchCard, h('h2', { id: 'cross-match-h', class: 'card-title', text: t('stats.matchByJob') }), matchEl);
    charts.add(matchEl, {
      grid: { left: 8, right: 16, top: 36, bottom: 20, containLabel: true },
      legend: { top: 0 },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      xAxis: {
        type: 'category',
        data: scoredRows.map(jobName),
        axisLabel: { interval: 0, width: 160, overflow: 'break', lineHeight: 14, formatter: (v) => shorten(v, 48) },
      },
      yAxis: { type: 'value', min: 0, max: 100, name: '%' },
      series: [
        {
          type: 'bar',
          name: t('stats.mean'),
          data: scoredRows.map((r) => r.stats.mean),
          barMaxWidth: 36,
          label: { show: true, position: 'top', formatter: (p) => fmtFixed(p.value, 1) },
        },
        { type: 'bar', name: t('stats.median'), data: scoredRows.map((r) => r.stats.median), barMaxWidth: 36 },
        ...(pooledMean === null
          ? []
          : [
              {
                type: 'line',
                name: t('stats.allJobs'),
                data: scoredRows.map(() => Math.round(pooledMean * 100) / 100),
                symbol: 'none',
                lineStyle: { type: 'dashed', color: '#5f6b7a' },
                itemStyle: { color: '#5f6b7a' },
              },
            ]),
      ],
    });

    // Grouped bars: dimension averages across jobs (missing dimension = no bar).
    const dimIds = [];
    for (const r of scoredRows) {
      for (const c of r.job.competencies || []) if (!dimIds.includes(c.id)) dimIds.push(c.id);
      for (const id of Object.keys(r.stats.dimensions || {})) if (!dimIds.includes(id)) dimIds.push(id);
    }
    const nameOf = (id) => {
      const own = scoredRows.map((r) => (r.job.competencies || []).find((c) => c.id === id)).find(Boolean);
      return competencyName(id, own && own.name);
    };
    const value = (r, id) => {
      const v = (r.stats.dimensions || {})[id];
      return v === undefined || v === null ? null : Number(v);
    };
    const dimEl = h('div', {
      class: 'chart tall',
      testid: 'chart-jobs',
      role: 'img',
      'aria-label': t('stats.dimsByJob'),
    });
    const spread = (id) => {
      const vals = scoredRows.map((r) => value(r, id)).filter((v) => v !== null);
      return vals.length > 1 ? Math.max(...vals) - Math.min(...vals) : null;
    };
    const dimTable = dataTable(
      { class: 'table compact dims-by-job keep', testid: 'stats-dims-table' },
      [
        t('stats.dimension'),
        ...scoredRows.map((r) => ({ text: jobName(r), class: 'num' })),
        { text: t('stats.col.spread'), class: 'num' },
      ],
      dimIds.map((id) => {
        const vals = scoredRows.map((r) => value(r, id));
        const present = vals.filter((v) => v !== null);
        const hi = present.length > 1 ? Math.max(...present) : null;
        const lo = present.length > 1 ? Math.min(...present) : null;
        return h(
          'tr',
          {},
          h('th', { scope: 'row', text: nameOf(id) }),
          vals.map((v) =>
            h('td', {
              class: `num${v !== null && hi !== lo && v === hi ? ' hi' : ''}${v !== null && hi !== lo && v === lo ? ' lo' : ''}`,
              text: v === null ? '—' : fmtNum(v),
            }),
          ),
          h('td', { class: 'num strong', text: spread(id) === null ? '—' : fmtNum(spread(id)) }),
        );
      }),
    );
    replace(
      dimCard,
      h('h2', { id: 'cross-dim-h', class: 'card-title', text: t('stats.dimsByJob') }),
      dimEl,
      dimTable,
      h('p', { class: 'muted small', text: t('stats.dimsNote') }),
    );
    charts.add(dimEl, {
      grid: { left: 8, right: 16, top: 48, bottom: 28, containLabel: true },
      legend: { top: 0, type: 'scroll', formatter: (v) => shorten(v, 40) },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      xAxis: {
        type: 'category',
        data: dimIds.map(nameOf),
        axisLabel: { interval: 0, width: dimIds.length > 6 ? 80 : 120, overflow: 'break', lineHeight: 14 },
      },
      yAxis: { type: 'value', min: 0, max: 10, interval: 2 },
      series: scoredRows.map((r) => ({
        type: 'bar',
        name: jobName(r),
        data: dimIds.map((id) => value(r, id)),
        barMaxWidth: 26,
        barGap: '10%',
      })),
    });
  }

  load();
  return () => charts.dispose();
}
