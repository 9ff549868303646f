// Jobs list with live per-job status counts.

import { h, replace } from '../common/dom.js';
import { API } from '../staff/api.js';
import { t } from '../staff/i18n.js';
import { dataTable, countChips, errorBanner, fmtDate, languageName, pageHeader } from '../staff/ui.js';
import { canSeeStats } from './stats.js';

export function renderJobs(main, ctx) {
  const banner = h('div', { hidden: true });
  const body = h('div', { class: 'card', 'aria-busy': 'true' }, h('p', { class: 'muted', text: t('common.loading') }));
  const newBtn = h('a', { class: 'btn primary', href: '#/jobs/new', testid: 'new-job', text: t('jobs.new') });
  const stats = canSeeStats(ctx.session);
  const compareBtn = stats
    ? h('a', { class: 'btn', href: '#/stats', testid: 'jobs-compare', text: t('stats.compare') })
    : null;
  replace(main, pageHeader(t('jobs.title'), compareBtn, newBtn), banner, body);

  const unsubs = [];
  API.jobs()
    .then((jobs) => {
      if (!ctx.alive) return;
      body.removeAttribute('aria-busy');
      if (!Array.isArray(jobs) || jobs.length === 0) {
        replace(
          body,
          h(
            'div',
            { class: 'empty', testid: 'jobs-empty' },
            h('p', { text: t('jobs.empty') }),
            h('a', { class: 'btn primary', href: '#/jobs/new', text: t('jobs.new') }),
          ),
        );
        return;
      }
      const rows = jobs.map((job) => {
        const chips = countChips(job.counts || {});
        unsubs.push(
          ctx.live.subscribe(`job:${job.id}`, (msg) => {
            if (msg.counts) chips.update(msg.counts);
          }),
        );
        return h(
          'tr',
          { testid: `job-row-${job.id}`, dataset: { jobId: job.id } },
          h(
            'td',
            { class: 'job-cell', dataset: { label: t('jobs.col.job') } },
            h('a', {
              class: 'job-title',
              href: `#/jobs/${encodeURIComponent(job.id)}`,
              testid: `job-link-${job.id}`,
              text: job.title || job.id,
            }),
            h(
              'div',
              { class: 'muted small' },
              [job.department, languageName(job.language), job.created_at ? fmtDate(job.created_at) : null]
                .filter(Boolean)
                .join(' · '),
            ),
          ),
          h('td', { class: 'counts-cell', dataset: { label: t('jobs.col.counts') } }, chips.el),
          stats
            ? h(
                'td',
                { class: 'actions', dataset: { label: t('col.actions') } },
                h('a', {
                  class: 'btn small',
                  href: `#/jobs/${encodeURIComponent(job.id)}/stats`,
                  testid: `job-stats-${job.id}`,
                  text: t('stats.link'),
                }),
              )
            : null,
        );
      });
      replace(
        body,
        dataTable(
          { class: 'table jobs', testid: 'jobs-table' },
          [t('jobs.col.job'), t('jobs.col.counts'), stats ? { text: t('col.actions'), class: 'actions' } : null],
          rows,
          { caption: t('jobs.caption') },
        ),
      );
    })
    .catch((e) => {
      if (!ctx.alive) return;
      replace(body);
      errorBanner(banner, e);
    });

  return () => unsubs.forEach((u) => u());
}
