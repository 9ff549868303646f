// Admin/HR single-page app: login, hash router, language switch, live socket.

import { h, replace, field, showError } from './dom.js';
import { API, ApiError, session, onUnauthorized } from './api.js';
import { t, getLang, setLang, applyStatic, onLangChange } from './i18n.js';
import { LiveClient } from '../common/live.js';
import { resetCaches } from './ui.js';
import { renderJobs } from './jobs.js';
import { renderJobDetail } from './jobdetail.js';
import { renderJobForm } from './jobform.js';
import { renderBank } from './bank.js';
import { renderInterview } from './interview.js';
import { renderJobStats, renderCrossStats, canSeeStats } from './stats.js';
import { renderReport } from './report.js';
import { renderSettings, isAdmin } from './settings.js';
import { renderTraining } from './training.js';

const main = document.getElementById('main');
const topbar = document.getElementById('topbar');
const liveStatus = document.getElementById('live-status');
const userInfo = document.getElementById('user-info');

let cleanup = null;
let loginNotice = null;

const live = new LiveClient({
  token: () => session.token(),
  onState: renderLiveState,
  onAuthProblem: () => { API.me().catch(() => {}); }, // a 401 here sends us to the login page
});

function renderLiveState(state = live.state) {
  liveStatus.dataset.state = state;
  liveStatus.textContent = t(`live.${state}`);
  liveStatus.title = t('live.title');
}

function renderChrome() {
  const s = session.get();
  document.documentElement.lang = getLang() === 'zh' ? 'zh-CN' : 'en';
  document.title = t('app.title');
  applyStatic(document.body);
  topbar.classList.toggle('signed-in', !!s);
  for (const el of topbar.querySelectorAll('.auth-only')) el.hidden = !s;
  for (const el of topbar.querySelectorAll('[data-needs="stats"]')) el.hidden = !canSeeStats(s);
  for (const el of topbar.querySelectorAll('[data-needs="admin"]')) el.hidden = !isAdmin(s);
  for (const el of topbar.querySelectorAll('[data-needs="manage"]')) el.hidden = !canSeeStats(s);
  if (s) {
    const u = s.user || {};
    replace(userInfo,
      h('span', { class: 'user-name', text: u.username || '' }),
      h('span', { class: 'badge subtle', text: t(`role.${s.role || u.role}`, {}, s.role || u.role || '') }));
  } else {
    replace(userInfo);
  }
  const route = currentRoute();
  for (const a of topbar.querySelectorAll('[data-nav]')) {
    const active = a.dataset.nav === route.nav;
    a.classList.toggle('active', active);
    if (active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  renderLiveState();
}

function currentRoute() {
  const hash = location.hash.replace(/^#/, '') || '/jobs';
  const parts = hash.split('?')[0].split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'login') return { name: 'login', nav: null };
  if (parts[0] === 'bank') return { name: 'bank', nav: 'bank' };
  if (parts[0] === 'stats') return { name: 'stats', nav: 'stats' };
  if (parts[0] === 'settings') return { name: 'settings', nav: 'settings' };
  if (parts[0] === 'training') return { name: 'training', nav: 'training' };
  if (parts[0] === 'interviews' && parts[1] && parts[2] === 'report') return { name: 'report', id: parts[1], nav: 'jobs' };
  if (parts[0] === 'interviews' && parts[1]) return { name: 'interview', id: parts[1], nav: 'jobs' };
  if (parts[0] === 'jobs' && parts[1] === 'new') return { name: 'job-new', nav: 'jobs' };
  if (parts[0] === 'jobs' && parts[1] && parts[2] === 'stats') return { name: 'job-stats', id: parts[1], nav: 'stats' };
  if (parts[0] === 'jobs' && parts[1] && parts[2] === 'resumes') return { name: 'job', id: parts[1], tab: 'resumes', nav: 'jobs' };
  if (parts[0] === 'jobs' && parts[1]) return { name: 'job', id: parts[1], nav: 'jobs' };
  return { name: 'jobs', nav: 'jobs' };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  const r = currentRoute();
  const s = session.get();
  renderChrome();
  if (!s) {
    live.stop();
    renderLogin();
    return;
  }
  if (r.name === 'login') { navigate('#/jobs'); return; }
  live.start();
  const ctx = { live, navigate, session: s, alive: true };
  let viewCleanup = null;
  replace(main);
  if (r.name === 'jobs') viewCleanup = renderJobs(main, ctx);
  else if (r.name === 'job-new') viewCleanup = renderJobForm(main, ctx);
  else if (r.name === 'job') viewCleanup = renderJobDetail(main, ctx, r.id, r.tab);
  else if (r.name === 'interview') viewCleanup = renderInterview(main, ctx, r.id);
  else if (r.name === 'bank') viewCleanup = renderBank(main, ctx);
  else if (r.name === 'stats') viewCleanup = renderCrossStats(main, ctx);
  else if (r.name === 'job-stats') viewCleanup = renderJobStats(main, ctx, r.id);
  else if (r.name === 'report') viewCleanup = renderReport(main, ctx, r.id);
  else if (r.name === 'settings') viewCleanup = renderSettings(main, ctx);
  else if (r.name === 'training') viewCleanup = renderTraining(main, ctx);
  cleanup = () => { ctx.alive = false; if (typeof viewCleanup === 'function') viewCleanup(); };
  const h1 = main.querySelector('h1');
  if (h1 && document.activeElement === document.body) h1.focus({ preventScroll: true });
}

function renderLogin() {
  const user = field(t('login.username'), h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, testid: 'login-username' }));
  const pass = field(t('login.password'), h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, testid: 'login-password' }));
  const err = h('p', { class: 'form-error', role: 'alert', testid: 'login-error', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn primary wide', testid: 'login-submit', text: t('login.submit') });
  const form = h('form', { class: 'login-form', novalidate: true, 'aria-labelledby': 'login-title' },
    user.wrap, pass.wrap, err, submit);
  if (loginNotice) { showError(err, loginNotice); loginNotice = null; }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const username = user.input.value.trim();
    const password = pass.input.value;
    if (!username || !password) { showError(err, t('login.missing')); return; }
    submit.disabled = true;
    showError(err, []);
    try {
      const res = await API.login(username, password);
      session.set({ token: res.token, role: res.role, expires_at: res.expires_at, user: res.user || { username } });
      resetCaches();
      if (!location.hash || location.hash === '#/login') navigate('#/jobs'); else route();
    } catch (e) {
      const msg = e instanceof ApiError && (e.status === 401 || e.status === 403) ? t('login.bad') : (e.status === 0 ? t('err.network') : e.message);
      showError(err, msg);
      submit.disabled = false;
      pass.input.select();
    }
  });
  replace(main, h('section', { class: 'login-card card' },
    h('h1', { id: 'login-title', text: t('login.title') }),
    h('p', { class: 'muted', text: t('login.subtitle') }),
    form));
  user.input.focus();
}

onUnauthorized(() => {
  loginNotice = t('login.expired');
  live.stop();
  route();
});

document.getElementById('logout').addEventListener('click', () => {
  session.clear();
  live.stop();
  resetCaches();
  navigate('#/login');
});

document.getElementById('lang-toggle').addEventListener('click', () => {
  setLang(getLang() === 'zh' ? 'en' : 'zh');
});

document.querySelector('.skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});

onLangChange(() => route());
window.addEventListener('hashchange', route);

// Validate a stored token once at start-up (a 401 clears it and shows the login page).
if (session.get()) {
  API.me().then((me) => {
    if (me) session.update({ user: { ...(session.get()?.user || {}), ...me }, role: me.role || session.get()?.role });
    renderChrome();
  }).catch(() => {});
}
route();
