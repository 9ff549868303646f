// Examiner live page: login (shares the admin session), job picker, interview list, live view.

import { h, replace, field, showError } from '../admin/dom.js';
import { API, ApiError, session, onUnauthorized } from '../admin/api.js';
import { resetCaches } from '../admin/ui.js';
import { t, getLang, setLang, applyStatic, onLangChange } from './i18n.js';
import { LiveClient } from '../common/live.js';
import { renderJobPicker, renderInterviewList } from './jobs.js';
import { renderLiveView } from './liveview.js';
import { renderReviewView } from './review.js';

const main = document.getElementById('main');
const topbar = document.getElementById('topbar');
const liveStatus = document.getElementById('live-status');
const userInfo = document.getElementById('user-info');

let cleanup = null;
let currentCtx = null;
let loginNotice = null;

const live = new LiveClient({
  token: () => session.token(),
  onState: () => renderLiveState(),
  onAuthProblem: () => { API.me().catch(() => {}); }, // a 401 there shows the login form
});

function renderLiveState() {
  liveStatus.dataset.state = live.state;
  liveStatus.textContent = t(`live.${live.state}`);
  liveStatus.title = t('live.title');
}

function renderChrome() {
  const s = session.get();
  document.documentElement.lang = getLang() === 'zh' ? 'zh-CN' : 'en';
  document.title = t('ex.title');
  applyStatic(document.body);
  for (const el of topbar.querySelectorAll('.auth-only')) el.hidden = !s;
  if (s) {
    const u = s.user || {};
    const role = s.role || u.role || '';
    replace(userInfo,
      h('span', { class: 'user-name', text: u.username || '' }),
      role ? h('span', { class: 'badge subtle', text: t(`role.${role}`, {}, role) }) : null);
  } else {
    replace(userInfo);
  }
  const r = currentRoute();
  for (const a of topbar.querySelectorAll('[data-nav]')) {
    const active = a.dataset.nav === r.nav;
    a.classList.toggle('active', active);
    if (active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  renderLiveState();
}

function currentRoute() {
  const hash = location.hash.replace(/^#/, '') || '/jobs';
  const parts = hash.split('?')[0].split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'login') return { name: 'login', nav: null };
  if (parts[0] === 'interviews' && parts[1] && parts[2] === 'review') return { name: 'review', id: parts[1], nav: 'jobs' };
  if (parts[0] === 'interviews' && parts[1]) return { name: 'interview', id: parts[1], nav: 'jobs' };
  if (parts[0] === 'jobs' && parts[1]) return { name: 'job', id: parts[1], nav: 'jobs' };
  return { name: 'jobs', nav: 'jobs' };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  currentCtx = null;
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
  const ctx = { live, navigate, session: s, alive: true, onLang: null };
  currentCtx = ctx;
  let viewCleanup = null;
  replace(main);
  if (r.name === 'jobs') viewCleanup = renderJobPicker(main, ctx);
  else if (r.name === 'job') viewCleanup = renderInterviewList(main, ctx, r.id);
  else if (r.name === 'interview') viewCleanup = renderLiveView(main, ctx, r.id);
  else if (r.name === 'review') viewCleanup = renderReviewView(main, ctx, r.id);
  cleanup = () => { ctx.alive = false; if (typeof viewCleanup === 'function') viewCleanup(); };
  const h1 = main.querySelector('h1');
  if (h1 && document.activeElement === document.body) h1.focus({ preventScroll: true });
}

function renderLogin() {
  const user = field(t('login.username'), h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, testid: 'login-username' }));
  const pass = field(t('login.password'), h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, testid: 'login-password' }));
  const err = h('p', { class: 'form-error', role: 'alert', testid: 'login-error', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn primary wide', testid: 'login-submit', text: t('login.submit') });
  const form = h('form', { class: 'login-form', novalidate: true, 'aria-labelledby': 'login-title' }, user.wrap, pass.wrap, err, submit);
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
  replace(main, h('section', { class: 'login-card card', testid: 'login-card' },
    h('h1', { id: 'login-title', text: t('login.title') }),
    h('p', { class: 'muted', text: t('ex.login.subtitle') }),
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

// A language switch re-renders the view; the live view relabels itself in place (it keeps
// its live state: metrics that are not in snapshots would otherwise be lost until the next event).
onLangChange(() => {
  if (currentCtx && currentCtx.alive && typeof currentCtx.onLang === 'function') {
    renderChrome();
    currentCtx.onLang();
  } else {
    route();
  }
});
window.addEventListener('hashchange', route);

if (session.get()) {
  API.me().then((me) => {
    if (me) session.update({ user: { ...(session.get()?.user || {}), ...me }, role: me.role || session.get()?.role });
    renderChrome();
  }).catch(() => {});
}
route();
