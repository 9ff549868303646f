// Job detail: live counts, candidates with revoke, single and bulk invitations.

import { h, button, replace, field, showError, downloadText } from '../common/dom.js';
import { debounce } from '../common/timing.js';
import { API, ApiError } from '../staff/api.js';
import { t, pick } from '../staff/i18n.js';
import { canSeeStats } from './stats.js';
import { canSeeReports } from './report.js';
import {
  card,
  countChips,
  dataTable,
  errorText,
  statusBadge,
  timeEl,
  fmtDate,
  languageName,
  errorBanner,
  uploadForm,
  notice,
  toCsv,
  absoluteUrl,
  pageHeader,
  confirmDialog,
  TERMINAL,
  SECTIONS,
  competencyName,
  loadCompetencies,
  linkBox,
  backToJobs,
  emptyNote,
} from '../staff/ui.js';
import { renderResumes } from './resumes.js';

// Invitation results survive a language switch / re-render (kept per job, in memory only).
const results = new Map(); // jobId -> {single, bulk}
const resultsFor = (jobId) => {
  if (!results.has(jobId)) results.set(jobId, { single: null, bulk: null });
  return results.get(jobId);
};

export const summaryId = (s) => s.id ?? s.interview_id;
const summaryName = (s) => s.name ?? s.candidate_name ?? '';
const summaryEmail = (s) => s.email ?? s.candidate_email ?? '';

/** HR and admins manage jobs: résumé intake, screening, invitations by hand. */
export const canManageJobs = (session) => canSeeStats(session);

/** Interviews / Résumés: links (each tab is its own address), the current one marked. */
function jobTabs(jobId, active) {
  const link = (key, href) =>
    h('a', {
      href,
      class: `tab${active === key ? ' active' : ''}`,
      'aria-current': active === key ? 'page' : null,
      testid: `tab-${key}`,
      text: t(`tabs.${key}`),
    });
  return h(
    'nav',
    { class: 'tabs', 'aria-label': t('tabs.label') },
    link('interviews', `#/jobs/${encodeURIComponent(jobId)}`),
    link('resumes', `#/jobs/${encodeURIComponent(jobId)}/resumes`),
  );
}

/** The job page's title, meta line and tabs; `onJob(job)` once the job is loaded. */
function jobHeader(ctx, jobId, tab, onJob) {
  const banner = h('div', { hidden: true });
  const back = backToJobs();
  const statsLink = canSeeStats(ctx.session)
    ? h('a', {
        class: 'btn',
        href: `#/jobs/${encodeURIComponent(jobId)}/stats`,
        testid: 'job-stats-link',
        text: t('stats.link'),
      })
    : null;
  const head = pageHeader(t('common.loading'), back, statsLink);
  const meta = h('p', { class: 'muted job-meta' });
  const tabs = canManageJobs(ctx.session) ? jobTabs(jobId, tab) : null;
  API.job(jobId)
    .then((job) => {
      if (!ctx.alive) return;
      replace(head, ...pageHeader(job.title || jobId, back, statsLink).childNodes);
      head.querySelector('h1').dataset.testid = 'job-title';
      meta.textContent = [
        job.department,
        languageName(job.language),
        (job.answer_languages || []).length > 1 ? t('job.bilingual') : null,
        job.created_at ? `${t('col.created')} ${fmtDate(job.created_at)}` : null,
      ]
        .filter(Boolean)
        .join(' · ');
      if (onJob) onJob(job);
    })
    .catch((e) => {
      if (!ctx.alive) return;
      replace(head, ...pageHeader(t('detail.notFound'), back, statsLink).childNodes);
      errorBanner(banner, e);
    });
  return { head, meta, banner, tabs };
}

export function renderJobDetail(main, ctx, jobId, tab = 'interviews') {
  if (tab === 'resumes' && canManageJobs(ctx.session)) {
    const top = jobHeader(ctx, jobId, 'resumes');
    const body = h('div', { class: 'resumes', testid: 'resumes-view' });
    replace(main, top.head, top.meta, top.tabs, top.banner, body);
    return renderResumes(body, ctx, jobId);
  }
  const reports = canSeeReports(ctx.session);
  const chips = countChips({});
  const countsCard = card(
    { id: 'counts-h', title: t('detail.counts'), class: 'counts-card', testid: 'job-counts' },
    chips.el,
  );
  const interviewsBody = h('div', {}, h('p', { class: 'muted', text: t('common.loading') }));
  const interviewsCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'cands-h' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', { id: 'cands-h', class: 'card-title', text: t('detail.candidates') }),
      button({
        class: 'btn small',
        testid: 'refresh-interviews',
        text: t('common.refresh'),
        on: { click: () => loadInterviews() },
      }),
    ),
    interviewsBody,
  );
  const configCard = h('details', { class: 'card config' }, h('summary', { text: t('detail.config') }));
  const state = resultsFor(jobId);

  const invite = inviteSection(ctx, jobId, state, () => loadInterviews());
  const bulk = bulkSection(ctx, jobId, state, () => loadInterviews());

  const examiners = canSeeStats(ctx.session) ? examinerSection(ctx, jobId) : null;
  const reminders = canSeeStats(ctx.session) ? reminderSection(ctx, jobId) : null;

  const { head, meta, banner, tabs } = jobHeader(ctx, jobId, 'interviews', async (job) => {
    if (job.counts && !ctx.live.topics.get(`job:${jobId}`)?.counts) chips.update(job.counts);
    invite.setDefaultLanguage(job.language);
    try {
      await loadCompetencies();
    } catch {
      /* names fall back to ids */
    }
    // The plan holds question ids: resolve their text from the bank (ids shown if that fails).
    let bank = new Map();
    try {
      bank = new Map((await API.questions()).map((q) => [q.id, q]));
    } catch {
      /* ids only */
    }
    if (ctx.alive) renderConfig(configCard, job, bank);
  });

  replace(
    main,
    head,
    meta,
    tabs,
    banner,
    countsCard,
    h('div', { class: 'grid two' }, invite, bulk),
    bulk.resultsCard,
    interviewsCard,
    reminders,
    examiners,
    configCard,
  );

  let rowsById = new Map();

  async function loadInterviews() {
    try {
      const list = await API.jobInterviews(jobId);
      if (!ctx.alive) return;
      renderInterviews(Array.isArray(list) ? list : []);
    } catch (e) {
      if (!ctx.alive) return;
      replace(interviewsBody);
      errorBanner(banner, e);
    }
  }
  const reloadSoon = debounce(loadInterviews, 600);

  function renderInterviews(list) {
    rowsById = new Map();
    if (list.length === 0) {
      replace(interviewsBody, emptyNote(t('detail.noCandidates'), 'interviews-empty'));
      return;
    }
    const ts = (v) => (typeof v === 'number' ? v * (v < 1e12 ? 1000 : 1) : Date.parse(v) || 0);
    list.sort((a, b) => ts(b.created_at) - ts(a.created_at));
    const rows = list.map((s) => {
      const id = summaryId(s);
      const statusCell = h(
        'td',
        { testid: 'interview-status', dataset: { label: t('col.status') } },
        statusBadge(s.status),
      );
      const updatedCell = h('td', { dataset: { label: t('col.updated') } }, timeEl(s.updated_at));
      const revokeBtn = button({
        class: 'btn small danger-outline',
        testid: `revoke-${id}`,
        text: t('detail.revoke'),
        disabled: TERMINAL.has(s.status),
        on: { click: () => revoke(s, revokeBtn) },
      });
      const reportLink = reports
        ? h('a', {
            class: 'btn small',
            href: `#/interviews/${encodeURIComponent(id)}/report`,
            testid: `report-link-${id}`,
            text: t('detail.report'),
            hidden: s.status !== 'completed',
          })
        : null;
      const row = h(
        'tr',
        { testid: `interview-row-${id}`, dataset: { interviewId: id, status: s.status } },
        h(
          'td',
          { dataset: { label: t('col.name') } },
          h('a', { href: `#/interviews/${encodeURIComponent(id)}`, text: summaryName(s) || id }),
        ),
        h('td', { dataset: { label: t('col.email') } }, summaryEmail(s)),
        statusCell,
        h('td', { dataset: { label: t('col.created') } }, timeEl(s.created_at)),
        updatedCell,
        h(
          'td',
          { class: 'actions', dataset: { label: t('col.actions') } },
          h('a', { class: 'btn small', href: `#/interviews/${encodeURIComponent(id)}`, text: t('detail.view') }),
          reportLink,
          revokeBtn,
        ),
      );
      rowsById.set(String(id), { row, statusCell, updatedCell, revokeBtn, reportLink, summary: s });
      return row;
    });
    replace(
      interviewsBody,
      dataTable(
        { class: 'table interviews', testid: 'interviews-table' },
        ['col.name', 'col.email', 'col.status', 'col.created', 'col.updated', 'col.actions'].map((k) => t(k)),
        rows,
      ),
    );
  }

  function setRowStatus(id, status, updatedAt) {
    const r = rowsById.get(String(id));
    if (!r) return false;
    r.summary.status = status;
    r.row.dataset.status = status;
    replace(r.statusCell, statusBadge(status));
    replace(r.updatedCell, timeEl(updatedAt || new Date().toISOString()));
    r.revokeBtn.disabled = TERMINAL.has(status);
    if (r.reportLink) r.reportLink.hidden = status !== 'completed';
    return true;
  }

  async function revoke(s, btn) {
    const id = summaryId(s);
    const ok = await confirmDialog(t('detail.revokeConfirm', { name: summaryName(s) || id }), {
      ok: t('detail.revoke'),
      danger: true,
    });
    if (!ok || !ctx.alive) return;
    btn.disabled = true;
    try {
      const iv = await API.revoke(id);
      if (!ctx.alive) return;
      setRowStatus(id, (iv && iv.status) || 'revoked', iv && iv.updated_at);
      notice(banner, t('detail.revoked', { name: summaryName(s) || id }));
    } catch (e) {
      if (!ctx.alive) return;
      btn.disabled = false;
      errorBanner(banner, e);
    }
  }

  const unsub = ctx.live.subscribe(`job:${jobId}`, (msg) => {
    if (msg.counts) chips.update(msg.counts);
    if (msg.type === 'status' && msg.interview_id !== undefined) {
      if (!setRowStatus(msg.interview_id, msg.status)) reloadSoon();
    }
  });

  loadInterviews();

  return () => unsub();
}

function renderConfig(configCard, job, bank) {
  const comps = (job.competencies || []).map((c) =>
    h(
      'li',
      {},
      h('span', { text: competencyName(c.id, c.name) }),
      ' ',
      h('span', { class: 'muted', text: `× ${Number(c.weight).toFixed(2)}` }),
    ),
  );
  const plan = SECTIONS.map((section) => {
    const entry = (job.plan || []).find((p) => p.section === section) || { questions: [] };
    return h(
      'div',
      { class: 'plan-summary' },
      h('h3', { text: t(`section.${section}`) }),
      h(
        'ol',
        {},
        (entry.questions || []).map((ref) => {
          const q = typeof ref === 'string' ? bank.get(ref) : ref;
          const id = typeof ref === 'string' ? ref : ref.id;
          return h(
            'li',
            {},
            q && q.text ? h('span', { text: pick(q.text) }) : null,
            ' ',
            h('code', { class: 'q-id', text: id }),
          );
        }),
      ),
    );
  });
  configCard.append(
    job.description ? h('p', { class: 'description', text: job.description }) : null,
    h('h3', { text: t('form.competencies') }),
    h('ul', { class: 'plain' }, comps),
    h('div', { class: 'grid three' }, plan),
  );
}

// Candidates who have not finished: one action queues a reminder each (e-mail when the server
// has SMTP, always in the outbox, which downloads as CSV for a mail-merge tool).
function reminderSection(ctx, jobId) {
  const info = h('p', { testid: 'pending-count', text: t('common.loading') });
  const status = h('p', { class: 'muted small', 'aria-live': 'polite', testid: 'reminder-status' });
  const send = button({
    class: 'btn primary small',
    testid: 'send-reminders',
    text: t('remind.send'),
  });
  const csv = button({ class: 'btn small', testid: 'download-outbox', text: t('remind.csv') });
  const section = card(
    { title: t('remind.title'), testid: 'reminders-card' },
    info,
    h('div', { class: 'form-actions' }, send, csv),
    status,
  );
  const refresh = async () => {
    const pending = await API.pending(jobId);
    if (!ctx.alive) return;
    info.textContent = t('remind.pending', { n: pending.length });
    send.disabled = pending.length === 0;
  };
  refresh().catch((e) => {
    info.textContent = String(e.message || e);
  });
  send.addEventListener('click', async () => {
    send.disabled = true;
    try {
      const res = await API.remind(jobId);
      status.textContent = t('remind.queued', { n: res.queued });
    } catch (e) {
      status.textContent = String(e.message || e);
    } finally {
      refresh().catch(() => {});
    }
  });
  csv.addEventListener('click', async () => {
    const rows = await API.outbox(jobId);
    downloadText(
      `reminders-${jobId}.csv`,
      toCsv(
        ['recipient', 'subject', 'body', 'status'],
        rows.map((r) => [r.recipient, r.subject, r.body, r.status]),
      ),
    );
  });
  return section;
}

// Examiners assigned to the job see its interviews live and review them afterwards.
function examinerSection(ctx, jobId) {
  const list = h(
    'div',
    { class: 'stack', testid: 'examiner-list' },
    h('p', { class: 'muted', text: t('common.loading') }),
  );
  const status = h('p', { class: 'muted small', 'aria-live': 'polite' });
  const save = button({
    class: 'btn primary small',
    testid: 'examiners-save',
    text: t('examiners.save'),
  });
  const section = card(
    { id: 'exam-h', title: t('examiners.title'), testid: 'examiners-card' },
    h('p', { class: 'muted small', text: t('examiners.hint') }),
    list,
    h('div', { class: 'form-actions' }, save),
    status,
  );
  const boxes = new Map();
  Promise.all([API.users('examiner'), API.job(jobId)])
    .then(([users, job]) => {
      if (!ctx.alive) return;
      const assigned = new Set(job.examiners || []);
      if (!users.length) {
        replace(list, h('p', { class: 'muted', text: t('examiners.none') }));
        save.disabled = true;
        return;
      }
      replace(
        list,
        ...users.map((u) => {
          const box = h('input', {
            type: 'checkbox',
            value: u.id,
            checked: assigned.has(u.id),
            testid: `examiner-${u.username}`,
          });
          boxes.set(u.id, box);
          return h('label', { class: 'check' }, box, h('span', { text: ` ${u.username}` }));
        }),
      );
    })
    .catch((e) => {
      if (ctx.alive) replace(list, h('p', { class: 'form-error', text: String(e.message || e) }));
    });
  save.addEventListener('click', async () => {
    const ids = [...boxes.entries()].filter(([, b]) => b.checked).map(([id]) => id);
    save.disabled = true;
    try {
      await API.assignExaminers(jobId, ids);
      status.textContent = t('examiners.saved', { n: ids.length });
    } catch (e) {
      status.textContent = String(e.message || e);
    } finally {
      save.disabled = false;
    }
  });
  return section;
}

function inviteSection(ctx, jobId, state, onCreated) {
  const name = field(
    t('invite.name'),
    h('input', { type: 'text', name: 'name', required: true, autocomplete: 'off', testid: 'invite-name' }),
    { errorKey: 'name' },
  );
  const email = field(
    t('invite.email'),
    h('input', { type: 'email', name: 'email', required: true, autocomplete: 'off', testid: 'invite-email' }),
    { errorKey: 'email' },
  );
  const phone = field(
    t('invite.phone'),
    h('input', { type: 'tel', name: 'phone', autocomplete: 'off', testid: 'invite-phone' }),
    { errorKey: 'phone' },
  );
  const group = field(
    t('invite.group'),
    h('input', { type: 'text', name: 'group', maxlength: '60', autocomplete: 'off', testid: 'invite-group' }),
    { errorKey: 'group', hint: t('invite.groupHint') },
  );
  const langSel = h(
    'select',
    { name: 'language', testid: 'invite-language' },
    h('option', { value: '', text: t('invite.langDefault') }),
    h('option', { value: 'zh-CN', text: t('lang.zh') }),
    h('option', { value: 'en', text: t('lang.en') }),
  );
  const lang = field(t('invite.language'), langSel, { errorKey: 'language' });
  const hours = field(
    t('invite.expires'),
    h('input', {
      type: 'number',
      name: 'expires_in_hours',
      min: '1',
      step: '1',
      inputmode: 'numeric',
      testid: 'invite-expires',
    }),
    { errorKey: 'expires_in_hours', hint: t('invite.expiresHint') },
  );
  const fields = { name, email, phone, group, language: lang, expires_in_hours: hours };
  const formErr = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const result = h('div', { class: 'result', testid: 'invite-result', hidden: true, 'aria-live': 'polite' });
  const submit = h('button', {
    type: 'submit',
    class: 'btn primary',
    testid: 'invite-submit',
    text: t('invite.submit'),
  });

  const showResult = (res) => {
    if (!res) {
      result.hidden = true;
      return;
    }
    result.hidden = false;
    replace(
      result,
      h('p', { class: 'ok-text', text: t('invite.created', { name: res.name }) }),
      linkBox(res.url, 'invite-link'),
      h('p', { class: 'muted small', text: t('invite.expiresAt', { at: fmtDate(res.expires_at) }) }),
    );
  };
  showResult(state.single);

  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h('div', { class: 'grid two tight' }, name.wrap, email.wrap, phone.wrap, group.wrap, lang.wrap, hours.wrap),
    formErr,
    h('div', { class: 'form-actions' }, submit),
    result,
  );

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const f of Object.values(fields)) showError(f.error, []);
    showError(formErr, []);
    const body = { name: name.input.value.trim(), email: email.input.value.trim() };
    let bad = false;
    if (!body.name) {
      showError(name.error, t('v.required'));
      bad = true;
    }
    if (!body.email || !email.input.checkValidity()) {
      showError(email.error, t('v.email'));
      bad = true;
    }
    if (phone.input.value.trim()) body.phone = phone.input.value.trim();
    if (group.input.value.trim()) body.group = group.input.value.trim();
    if (langSel.value) body.language = langSel.value;
    if (hours.input.value) {
      const n = Number(hours.input.value);
      if (!Number.isFinite(n) || n <= 0) {
        showError(hours.error, t('v.positive'));
        bad = true;
      } else body.expires_in_hours = n;
    }
    if (bad) return;
    submit.disabled = true;
    try {
      const res = await API.invite(jobId, body);
      if (!ctx.alive) return;
      state.single = { ...res, name: body.name, email: body.email };
      showResult(state.single);
      form.querySelectorAll('input').forEach((i) => {
        if (!i.readOnly) i.value = '';
      });
      name.input.focus();
      onCreated();
    } catch (e) {
      if (!ctx.alive) return;
      showFieldErrors(e, fields, formErr);
    } finally {
      submit.disabled = false;
    }
  });

  const section = card({ id: 'invite-h', title: t('invite.title') }, form);
  section.setDefaultLanguage = (code) => {
    langSel.options[0].textContent = `${t('invite.langDefault')} (${languageName(code)})`;
  };
  return section;
}

function showFieldErrors(e, fields, formErr) {
  if (e instanceof ApiError && e.errors.length) {
    const rest = [];
    for (const err of e.errors) {
      const key = String(err.field || '').split(/[.[]/)[0];
      if (fields[key]) showError(fields[key].error, [fields[key].error.textContent, err.message].filter(Boolean));
      else rest.push(err.field ? `${err.field}: ${err.message}` : err.message);
    }
    showError(formErr, rest.length ? rest : e.errors.length ? [] : e.message);
  } else {
    showError(formErr, errorText(e));
  }
}

function bulkSection(ctx, jobId, state, onCreated) {
  // Results (links table or row errors) go into a full-width card below the forms.
  const out = h('div', { class: 'result', 'aria-live': 'polite' });
  const resultsCard = h(
    'section',
    { class: 'card', testid: 'bulk-result', 'aria-label': t('bulk.title'), hidden: true },
    out,
  );
  const setOut = (...nodes) => {
    replace(out, ...nodes);
    resultsCard.hidden = nodes.length === 0;
  };

  const showCreated = (created) => {
    if (!created) {
      setOut();
      return;
    }
    const dl = button({
      class: 'btn small',
      testid: 'download-links',
      text: t('bulk.download'),
      on: {
        click: () =>
          downloadText(
            `invitations-${jobId}.csv`,
            toCsv(
              ['name', 'email', 'url', 'expires_at', 'interview_id'],
              created.map((c) => [c.name, c.email, absoluteUrl(c.url), c.expires_at, c.interview_id]),
            ),
          ),
      },
    });
    setOut(
      h(
        'div',
        { class: 'card-head' },
        h('p', { class: 'ok-text', testid: 'bulk-count', text: t('bulk.created', { n: created.length }) }),
        dl,
      ),
      dataTable(
        { class: 'table links', testid: 'bulk-links' },
        ['col.name', 'col.email', 'invite.link', 'col.expires'].map((k) => t(k)),
        created.map((c) =>
          h(
            'tr',
            {},
            h('td', { dataset: { label: t('col.name') } }, c.name || ''),
            h('td', { dataset: { label: t('col.email') } }, c.email || ''),
            h('td', { dataset: { label: t('invite.link') } }, linkBox(c.url, 'bulk-link')),
            h('td', { dataset: { label: t('col.expires') } }, timeEl(c.expires_at)),
          ),
        ),
      ),
    );
  };
  showCreated(state.bulk);

  const { form } = uploadForm(ctx, {
    prefix: 'bulk',
    accept: '.csv,text/csv',
    template: {
      filename: 'invitations-template.csv',
      header: ['name', 'email', 'phone', 'language', 'group'],
      rows: [
        ['张三', 'zhangsan@example.com', '13800000000', 'zh-CN', ''],
        ['Jane Doe', 'jane@example.com', '', 'en', ''],
      ],
    },
    keepWhileSending: true, // the last links stay until the new ones (or the errors) are in
    send: (file) => API.bulkInvite(jobId, file),
    done: (res) => {
      state.bulk = (res && res.created) || [];
      showCreated(state.bulk);
      onCreated();
    },
    show: (...nodes) => {
      state.bulk = null; // the card now shows the upload's errors, not links
      setOut(...nodes);
    },
  });
  const section = card({ id: 'bulk-h', title: t('bulk.title') }, form);
  section.resultsCard = resultsCard;
  return section;
}
