// Admin/HR page (/admin): the staff shell with the sections for admins and HR (jobs, question
// bank, statistics, training, settings); the examiner role sees jobs and the question bank.

import { startStaffShell } from '../staff/shell.js';
import { renderJobs } from './jobs.js';
import { renderJobDetail } from './jobdetail.js';
import { renderJobForm } from './jobform.js';
import { renderBank } from './bank.js';
import { renderInterview } from './interview.js';
import { renderJobStats, renderCrossStats, canSeeStats } from './stats.js';
import { renderReport } from './report.js';
import { renderSettings, isAdmin } from './settings.js';
import { renderTraining } from './training.js';

startStaffShell({
  title: 'app.title',
  console: 'app.console',
  loginSubtitle: 'login.subtitle',
  nav: [
    { href: '#/jobs', nav: 'jobs', testid: 'nav-jobs', label: 'nav.jobs' },
    { href: '#/bank', nav: 'bank', testid: 'nav-bank', label: 'nav.bank' },
    { href: '#/stats', nav: 'stats', testid: 'nav-stats', label: 'nav.stats', visible: canSeeStats },
    { href: '#/training', nav: 'training', testid: 'nav-training', label: 'nav.training', visible: canSeeStats },
    { href: '#/settings', nav: 'settings', testid: 'nav-settings', label: 'nav.settings', visible: isAdmin },
  ],
  routes: [
    ['bank', { name: 'bank', nav: 'bank' }],
    ['stats', { name: 'stats', nav: 'stats' }],
    ['settings', { name: 'settings', nav: 'settings' }],
    ['training', { name: 'training', nav: 'training' }],
    ['interviews/:id/report', { name: 'report', nav: 'jobs' }],
    ['interviews/:id', { name: 'interview', nav: 'jobs' }],
    ['jobs/new', { name: 'job-new', nav: 'jobs' }],
    ['jobs/:id/stats', { name: 'job-stats', nav: 'stats' }],
    ['jobs/:id/resumes', { name: 'job', tab: 'resumes', nav: 'jobs' }],
    ['jobs/:id', { name: 'job', nav: 'jobs' }],
    ['', { name: 'jobs', nav: 'jobs' }],
  ],
  views: {
    jobs: (main, ctx) => renderJobs(main, ctx),
    'job-new': (main, ctx) => renderJobForm(main, ctx),
    job: (main, ctx, r) => renderJobDetail(main, ctx, r.id, r.tab),
    interview: (main, ctx, r) => renderInterview(main, ctx, r.id),
    bank: (main, ctx) => renderBank(main, ctx),
    stats: (main, ctx) => renderCrossStats(main, ctx),
    'job-stats': (main, ctx, r) => renderJobStats(main, ctx, r.id),
    report: (main, ctx, r) => renderReport(main, ctx, r.id),
    settings: (main, ctx) => renderSettings(main, ctx),
    training: (main, ctx) => renderTraining(main, ctx),
  },
});
