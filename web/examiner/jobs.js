// Job picker and a job's interview list with live status (topic `job:<id>`).

import { h, replace } from '../common/dom.js';
import { debounce } from '../common/timing.js';
import { API } from '../staff/api.js';
import { dataTable, statusBadge, fmtDate, errorBanner, pageHeader, languageName, emptyNote } from '../staff/ui.js';
import { t } from '../staff/i18n.js';

const STATUS_ORDER = [
  'in_progress',
  'device_checked',
  'consented',
  'opened',
  'invited',
  'completed',
  'declined',
  'expired',
  'revoked',
];
const rank = (status) => {
  const i = STATUS_ORDER.indexOf(status);
  return i < 0 ? STATUS_ORDER.length : i;
};
const ts = (v) => (typeof v === 'number' ? (v < 1e12 ? v * 1000 : v) : Date.parse(v) || 0);
const LIVEISH = new Set(['in_progress', 'device_checked', 'consented', 'opened']);

function jobCountsText(counts = {}) {
  const total = Object.values(counts).reduce((a, b) => a + Number(b || 0), 0);
  return { live: Number(counts.in_progress || 0), total };
}

export function renderJobPicker(main, ctx) {
  const banner = h('div', { hidden: true });
  const body = h('div', { class: 'card', 'aria-busy': 'true' }, h('p', { class: 'muted', text: t('common.loading') }));
  replace(main, pageHeader(t('ex.jobs.title')), banner, body);
  const unsubs = [];
  API.jobs()
    .then((jobs) => {
      if (!ctx.alive) return;
      body.removeAttribute('aria-busy');
      if (!Array.isArray(jobs) || !jobs.length) {
        replace(body, emptyNote(t('ex.jobs.empty'), 'jobs-empty'));
        return;
      }
      // Jobs with interviews in progress first (stable otherwise).
      const live = (j) => Number((j.counts || {}).in_progress || 0);
      const items = [...jobs]
        .sort((a, b) => live(b) - live(a))
        .map((job) => {
          const liveChip = h('span', { class: 'badge status', testid: `job-live-${job.id}` });
          const totalEl = h('span', { class: 'muted small' });
          const setCounts = (counts) => {
            const c = jobCountsText(counts);
            liveChip.textContent = t('ex.jobs.live', { n: c.live });
            liveChip.className = `badge status${c.live ? ' status-in_progress' : ''}`;
            totalEl.textContent = t('ex.jobs.total', { n: c.total });
          };
          setCounts(job.counts || {});
          unsubs.push(
            ctx.live.subscribe(`job:${job.id}`, (msg) => {
              if (msg.counts) setCounts(msg.counts);
            }),
          );
          return h(
            'li',
            { class: 'job-pick', testid: `job-pick-${job.id}` },
            h(
              'a',
              { class: 'job-pick-link', href: `#/jobs/${encodeURIComponent(job.id)}`, testid: `job-open-${job.id}` },
              h('span', { class: 'job-title', text: job.title || job.id }),
              h('span', {
                class: 'muted small',
                text: [job.department, languageName(job.language)].filter(Boolean).join(' · '),
              }),
            ),
            h('span', { class: 'job-pick-counts' }, liveChip, totalEl),
          );
        });
      replace(body, h('ul', { class: 'job-picker', testid: 'job-picker' }, items));
    })
    .catch((e) => {
      if (!ctx.alive) return;
      replace(body);
      errorBanner(banner, e);
    });
  return () => unsubs.forEach((u) => u());
}

export function renderInterviewList(main, ctx, jobId) {
  const banner = h('div', { hidden: true });
  const back = h('a', { class: 'btn ghost', href: '#/jobs', text: t('ex.list.back') });
  const head = pageHeader(t('ex.list.title'), back);
  const body = h('div', { class: 'card', 'aria-busy': 'true' }, h('p', { class: 'muted', text: t('common.loading') }));
  replace(main, head, banner, body);
  let rows = [];
  let unsub = () => {};

  const draw = () => {
    if (!rows.length) {
      replace(body, emptyNote(t('ex.list.empty'), 'interviews-empty'));
      return;
    }
    const sorted = [...rows].sort((a, b) => rank(a.status) - rank(b.status) || ts(b.updated_at) - ts(a.updated_at));
    replace(
      body,
      dataTable(
        { class: 'table interviews', testid: 'interview-list' },
        [t('ex.list.candidate'), t('ex.list.status'), t('ex.list.updated'), { text: t('ex.list.watch'), hidden: true }],
        sorted.map((iv) => {
          const id = iv.interview_id;
          const href = `#/interviews/${encodeURIComponent(id)}`;
          const isLive = iv.status === 'in_progress';
          return h(
            'tr',
            { testid: `interview-row-${id}`, dataset: { status: iv.status }, class: isLive ? 'row-live' : '' },
            h(
              'td',
              { dataset: { label: t('ex.list.candidate') } },
              h('a', { href, class: 'strong', text: iv.name || id }),
              h('div', { class: 'muted small', text: iv.email || '' }),
            ),
            h('td', { dataset: { label: t('ex.list.status') } }, statusBadge(iv.status)),
            h('td', { dataset: { label: t('ex.list.updated') } }, fmtDate(iv.updated_at)),
            h(
              'td',
              { class: 'actions' },
              iv.status === 'completed'
                ? h('a', {
                    class: 'btn small primary',
                    href: `${href}/review`,
                    testid: `review-${id}`,
                    text: t('ex.rv.open'),
                  })
                : null,
              h('a', {
                class: `btn small ${LIVEISH.has(iv.status) ? 'primary' : ''}`,
                href,
                testid: `watch-${id}`,
                text: LIVEISH.has(iv.status) ? t('ex.list.watch') : t('ex.list.view'),
              }),
            ),
          );
        }),
        { caption: t('ex.list.caption') },
      ),
    );
  };

  const load = () =>
    API.jobInterviews(jobId).then((list) => {
      if (!ctx.alive) return;
      body.removeAttribute('aria-busy');
      rows = Array.isArray(list) ? list : [];
      draw();
    });
  const reload = debounce(() => {
    load().catch(() => {});
  }, 400);

  API.job(jobId)
    .then((job) => {
      if (!ctx.alive) return;
      replace(head, ...pageHeader(job.title || t('ex.list.title'), back).childNodes);
    })
    .catch(() => {});
  load()
    .then(() => {
      if (!ctx.alive) return;
      unsub = ctx.live.subscribe(`job:${jobId}`, (msg) => {
        if (msg.type === 'snapshot') {
          reload();
          return;
        } // (re)connected: catch up
        if (msg.type !== 'status') return;
        const row = rows.find((r) => r.interview_id === msg.interview_id);
        if (!row) {
          reload();
          return;
        }
        row.status = msg.status;
        row.updated_at = Date.now();
        draw();
      });
    })
    .catch((e) => {
      if (!ctx.alive) return;
      replace(body);
      errorBanner(banner, e);
    });
  return () => {
    unsub();
  };
}
