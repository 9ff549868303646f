// Examiner page (/examiner): the staff shell with the examiner's sections (job picker, interview
// list, live view, review); it shares the admin page's session and language.

import { startStaffShell } from '../staff/shell.js';
import { renderJobPicker, renderInterviewList } from './jobs.js';
import { renderLiveView } from './liveview.js';
import { renderReviewView } from './review.js';

startStaffShell({
  title: 'ex.title',
  console: 'ex.console',
  loginSubtitle: 'ex.login.subtitle',
  nav: [
    { href: '#/jobs', nav: 'jobs', testid: 'nav-jobs', label: 'ex.nav.jobs' },
    { href: '/admin', testid: 'nav-admin', label: 'ex.nav.admin' },
  ],
  routes: [
    ['interviews/:id/review', { name: 'review', nav: 'jobs' }],
    ['interviews/:id', { name: 'interview', nav: 'jobs' }],
    ['jobs/:id', { name: 'job', nav: 'jobs' }],
    ['', { name: 'jobs', nav: 'jobs' }],
  ],
  views: {
    jobs: (main, ctx) => renderJobPicker(main, ctx),
    job: (main, ctx, r) => renderInterviewList(main, ctx, r.id),
    interview: (main, ctx, r) => renderLiveView(main, ctx, r.id),
    review: (main, ctx, r) => renderReviewView(main, ctx, r.id),
  },
});
