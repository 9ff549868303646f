// The staff shell shared by the admin/HR page (/admin) and the examiner page (/examiner): header
// and navigation, login, language switch, live socket and the hash router. Each page is one
// entry module that starts the shell with its sections; a section's nav link may be shown only to
// some roles. Both pages share the session (sessionStorage) and the language (localStorage).

import { h, button, replace, field, showError } from '../common/dom.js';
import { LiveClient } from '../common/live.js';
import { htmlLang } from '../common/i18n.js';
import { API, session, onUnauthorized, roleOf } from './api.js';
import { t, getLang, setLang, applyStatic, onLangChange } from './i18n.js';
import { errorText, resetCaches } from './ui.js';

/**
 * A navigation link. `nav` marks it active when the route has the same `nav`; `visible(session)`
 * hides it from roles the section is not for.
 * @typedef {{href: string, label: string, testid: string, nav?: string, visible?: (s: object) => boolean}} NavLink
 */

/** The first route whose pattern the path's parts start with, with its `:params` filled in. */
function matchRoute(routes, parts) {
  for (const [pattern, route] of routes) {
    const params = {};
    const matches = pattern
      .split('/')
      .filter(Boolean)
      .every((segment, i) => {
        if (!segment.startsWith(':')) return parts[i] === segment;
        params[segment.slice(1)] = parts[i];
        return Boolean(parts[i]);
      });
    if (matches) return { ...route, ...params };
  }
  return null;
}

/**
 * Start the staff page.
 * @param {object} page
 * @param {string} page.title        key of the document title
 * @param {string} page.console      key of the page name next to the brand
 * @param {string} page.loginSubtitle key of the line under the login title
 * @param {NavLink[]} page.nav        the header links, in order
 * @param {Array<[string, {name: string, nav: string|null, tab?: string}]>} page.routes
 *        the routes, first match wins: a hash path whose parts start with the pattern's parts
 *        (`:id` matches any part and is handed to the view as `route.id`) takes the route; the
 *        empty pattern matches every path (`login` is the shell's own)
 * @param {Object<string, (main: HTMLElement, ctx: object, route: object) => (Function|void)>} page.views
 *        the view of each route name: renders into `main`, may return a cleanup function. The view's
 *        `ctx` has `live`, `navigate`, `session`, `alive` (false once left) and `onLang` (set it to
 *        relabel the view in place on a language switch instead of rendering it again).
 */
export function startStaffShell(page) {
  const main = document.getElementById('main');
  const { topbar, liveStatus, userInfo, navLinks } = renderTopbar(page);
  main.before(topbar.skip, topbar.header);

  let cleanup = null;
  let currentCtx = null;
  let loginNotice = null;

  const live = new LiveClient({
    token: () => session.token(),
    onState: () => renderLiveState(),
    onAuthProblem: () => {
      API.me().catch(() => {}); // a 401 there shows the login form
    },
  });

  function renderLiveState() {
    liveStatus.dataset.state = live.state;
    liveStatus.textContent = t(`live.${live.state}`);
    liveStatus.title = t('live.title');
  }

  function currentRoute() {
    const hash = location.hash.replace(/^#/, '') || '/jobs';
    const parts = hash.split('?')[0].split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'login') return { name: 'login', nav: null };
    return matchRoute(page.routes, parts);
  }

  function renderChrome() {
    const s = session.get();
    document.documentElement.lang = htmlLang(getLang());
    document.title = t(page.title);
    applyStatic(document.body);
    topbar.header.classList.toggle('signed-in', !!s);
    for (const el of topbar.header.querySelectorAll('.auth-only')) el.hidden = !s;
    for (const { link, visible } of navLinks) if (visible) link.hidden = !s || !visible(s);
    if (s) {
      const role = roleOf(s);
      replace(
        userInfo,
        h('span', { class: 'user-name', text: (s.user && s.user.username) || '' }),
        role ? h('span', { class: 'badge subtle', text: t(`role.${role}`, {}, role) }) : null,
      );
    } else {
      replace(userInfo);
    }
    const r = currentRoute();
    for (const { link } of navLinks) {
      const active = !!link.dataset.nav && link.dataset.nav === r.nav;
      link.classList.toggle('active', active);
      if (active) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    renderLiveState();
  }

  function navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  function route() {
    if (cleanup) {
      try {
        cleanup();
      } catch (e) {
        console.error(e);
      }
      cleanup = null;
    }
    currentCtx = null;
    const r = currentRoute();
    const s = session.get();
    renderChrome();
    if (!s) {
      live.stop();
      renderLogin();
      return;
    }
    if (r.name === 'login') {
      navigate('#/jobs');
      return;
    }
    live.start();
    const ctx = { live, navigate, session: s, alive: true, onLang: null };
    currentCtx = ctx;
    replace(main);
    const view = page.views[r.name];
    const viewCleanup = view ? view(main, ctx, r) : null;
    cleanup = () => {
      ctx.alive = false;
      if (typeof viewCleanup === 'function') viewCleanup();
    };
    const h1 = main.querySelector('h1');
    if (h1 && document.activeElement === document.body) h1.focus({ preventScroll: true });
  }

  function renderLogin() {
    const user = field(
      t('login.username'),
      h('input', {
        type: 'text',
        name: 'username',
        autocomplete: 'username',
        required: true,
        testid: 'login-username',
      }),
    );
    const pass = field(
      t('login.password'),
      h('input', {
        type: 'password',
        name: 'password',
        autocomplete: 'current-password',
        required: true,
        testid: 'login-password',
      }),
    );
    const err = h('p', { class: 'form-error', role: 'alert', testid: 'login-error', hidden: true });
    const submit = h('button', {
      type: 'submit',
      class: 'btn primary wide',
      testid: 'login-submit',
      text: t('login.submit'),
    });
    const form = h(
      'form',
      { class: 'login-form', novalidate: true, 'aria-labelledby': 'login-title' },
      user.wrap,
      pass.wrap,
      err,
      submit,
    );
    if (loginNotice) {
      showError(err, loginNotice);
      loginNotice = null;
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const username = user.input.value.trim();
      const password = pass.input.value;
      if (!username || !password) {
        showError(err, t('login.missing'));
        return;
      }
      submit.disabled = true;
      showError(err, []);
      try {
        const res = await API.login(username, password);
        session.set({ token: res.token, role: res.role, expires_at: res.expires_at, user: res.user || { username } });
        resetCaches();
        if (!location.hash || location.hash === '#/login') navigate('#/jobs');
        else route();
      } catch (e) {
        showError(err, errorText(e, { 401: t('login.bad'), 403: t('login.bad') }));
        submit.disabled = false;
        pass.input.select();
      }
    });
    replace(
      main,
      h(
        'section',
        { class: 'login-card card', testid: 'login-card' },
        h('h1', { id: 'login-title', text: t('login.title') }),
        h('p', { class: 'muted', text: t(page.loginSubtitle) }),
        form,
      ),
    );
    user.input.focus();
  }

  onUnauthorized(() => {
    loginNotice = t('login.expired');
    live.stop();
    route();
  });

  topbar.logout.addEventListener('click', () => {
    session.clear();
    live.stop();
    resetCaches();
    navigate('#/login');
  });

  topbar.langToggle.addEventListener('click', () => {
    setLang(getLang() === 'zh' ? 'en' : 'zh');
  });

  topbar.skip.addEventListener('click', (ev) => {
    ev.preventDefault();
    main.focus();
  });

  // A language switch renders the view again, unless it relabels itself in place (the live view
  // keeps its live state: metrics that are not in snapshots would be lost until the next event).
  onLangChange(() => {
    if (currentCtx && currentCtx.alive && typeof currentCtx.onLang === 'function') {
      renderChrome();
      currentCtx.onLang();
    } else {
      route();
    }
  });
  window.addEventListener('hashchange', route);

  // Validate a stored token once at start-up (a 401 clears it and shows the login page).
  if (session.get()) {
    API.me()
      .then((me) => {
        if (me)
          session.update({ user: { ...(session.get()?.user || {}), ...me }, role: me.role || session.get()?.role });
        renderChrome();
      })
      .catch(() => {});
  }
  route();
  return { navigate };
}

/** The skip link and the header: brand, navigation, live status, user, language, log out. */
function renderTopbar(page) {
  const skip = h('a', { class: 'skip-link', href: '#main', 'data-i18n': 'app.skip' });
  const navLinks = page.nav.map((item) => ({
    visible: item.visible,
    link: h('a', {
      href: item.href,
      'data-nav': item.nav,
      testid: item.testid,
      'data-i18n': item.label,
      hidden: !!item.visible,
    }),
  }));
  const liveStatus = h('span', {
    id: 'live-status',
    class: 'live auth-only',
    testid: 'live-status',
    role: 'status',
    hidden: true,
  });
  const userInfo = h('span', { id: 'user-info', class: 'user-info auth-only', testid: 'user-info', hidden: true });
  const langToggle = button({
    id: 'lang-toggle',
    class: 'btn ghost small',
    testid: 'lang-toggle',
    'data-i18n': 'top.lang',
    'data-i18n-attr': 'aria-label:top.langLabel',
  });
  const logout = button({
    id: 'logout',
    class: 'btn ghost small auth-only',
    testid: 'logout',
    'data-i18n': 'top.logout',
    hidden: true,
  });
  const header = h(
    'header',
    { class: 'topbar', id: 'topbar' },
    h(
      'div',
      { class: 'brand' },
      h('span', { class: 'brand-mark', 'aria-hidden': 'true' }),
      h('span', { class: 'brand-name', 'data-i18n': 'app.brand' }),
      h('span', { class: 'brand-sub', 'data-i18n': page.console }),
    ),
    h(
      'nav',
      { class: 'nav auth-only', 'data-i18n-attr': 'aria-label:nav.label', hidden: true },
      navLinks.map((n) => n.link),
    ),
    h('div', { class: 'top-right' }, liveStatus, userInfo, langToggle, logout),
  );
  return { topbar: { skip, header, langToggle, logout }, liveStatus, userInfo, navLinks };
}
