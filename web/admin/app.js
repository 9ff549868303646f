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

function route(parts) {
  if (parts[0] === 'bank') return { name: 'bank', nav: 'bank' };
  if (parts[0] === 'stats') return { name: 'stats', nav: 'stats' };
  if (parts[0] === 'settings') return { name: 'settings', nav: 'settings' };
  if (parts[0] === 'training') return { name: 'training', nav: 'training' };
  if (parts[0] === 'interviews' && parts[1] && parts[2] === 'report')
    return { name: 'report', id: parts[1], nav: 'jobs' };
  if (parts[0] === 'interviews' && parts[1]) return { name: 'interview', id: parts[1], nav: 'jobs' };
  if (parts[0] === 'jobs' && parts[1] === 'new') return { name: 'job-new', nav: 'jobs' };
  if (parts[0] === 'jobs' && parts[1] && parts[2] === 'stats') return { name: 'job-stats', id: parts[1], nav: 'stats' };
  if (parts[0] === 'jobs' && parts[1] && parts[2] === 'resumes')
    return { name: 'job', id: parts[1], tab: 'resumes', nav: 'jobs' };
  if (parts[0] === 'jobs' && parts[1]) return { name: 'job', id: parts[1], nav: 'jobs' };
  return { name: 'jobs', nav: 'jobs' };
}

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
  route,
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
