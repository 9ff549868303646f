// Résumé intake for one job (#/jobs/<id>/resumes, HR and admins).
//
// Screening settings beside the upload; the upload answers 202 with a batch, whose progress
// arrives as `resume_progress` messages on the job's live topic (the status URL is polled
// every second when those stop coming) and ends with the per-file errors and a summary.
// The candidate list is best match first; a row opens a panel where a person checks every
// extracted value against the résumé text it came from, reads why each criterion is met or
// not, and decides. The system itself never rejects anyone.

import { h, replace, showError, downloadBlob } from '../common/dom.js';
import { API, ApiError } from '../staff/api.js';
import { t } from '../staff/i18n.js';
import { card, dataTable, confirmDialog, errorBanner, errorText, linkBox, notice } from '../staff/ui.js';
import { isAdmin } from './settings.js';
import { screeningCard, degreeLabel } from './screening.js';

export const CANDIDATE_STATUSES = ['waiting', 'invited', 'not_selected'];
export const RESUME_ACCEPT = '.pdf,.docx,.txt,.zip';
export const MAX_BATCH_BYTES = 200 * 1024 * 1024;
export const MAX_FILES_PER_BATCH = 1000;
/** Poll the batch status when no live progress arrived for this long. */
export const LIVE_SILENCE_MS = 1500;
export const POLL_EVERY_MS = 1000;
const SHOW_FILES = 8;

// The batch of each job survives leaving the tab (kept in memory for this page load only).
const batches = new Map(); // jobId -> batch state

export const fmtBytes = (n) => {
  const v = Number(n) || 0;
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KB`;
  return `${(v / 1024 / 1024).toFixed(1)} MB`;
};

const fmt1 = (x) =>
  x === null || x === undefined || Number.isNaN(Number(x)) ? '—' : String(Math.round(Number(x) * 10) / 10);
const displayName = (c) => c.name || t('res.noName');
const baseName = (path) =>
  String(path || 'resume')
    .split('/')
    .pop() || 'resume';

export function candidateStatusBadge(status) {
  return h('span', {
    class: `badge cstatus cstatus-${status}`,
    dataset: { status },
    testid: 'candidate-status',
    text: t(`cstatus.${status}`, {}, status),
  });
}

/** Imported / invited-automatically / duplicate counts of a finished batch. `known`: candidate
 *  ids that existed before the upload (the batch status carries no `duplicate` flag). */
export function summarise(result, known) {
  const seen = new Set();
  const out = { imported: 0, invited: 0, duplicates: [], errors: (result.errors || []).length };
  for (const c of result.candidates || []) {
    const dup = c.duplicate === true || known.has(c.candidate_id) || seen.has(c.candidate_id);
    seen.add(c.candidate_id);
    if (dup) out.duplicates.push(c);
    else {
      out.imported += 1;
      if (c.status === 'invited') out.invited += 1;
    }
  }
  return out;
}

/** The invitation link of an interview: from the invite answer when it has one, else from
 *  the invitation in the job's outbox (its body holds the link on a line of its own). */
export async function invitationUrl(jobId, interviewId, answer) {
  const direct = answer && (answer.url || (answer.invitation && answer.invitation.url));
  if (direct) return direct;
  const rows = await API.outbox(jobId);
  const mine = (rows || [])
    .filter((r) => r.interview_id === interviewId && r.kind === 'invitation')
    .sort((a, b) => Number(b.created_at || 0) - Number(a.created_at || 0));
  for (const r of mine) {
    if (r.url) return r.url;
    const m = String(r.body || '').match(/https?:\/\/\S+\/i\/\S+/);
    if (m) return m[0];
  }
  return null;
}

export function renderResumes(root, ctx, jobId) {
  const state = { candidates: [], filter: 'all', loaded: false };
  const banner = h('div', { hidden: true });
  const list = candidateList(ctx, state, (c) => openPanel(c));
  const upload = uploadCard(
    ctx,
    jobId,
    () => new Set(state.candidates.map((c) => c.candidate_id)),
    () => loadCandidates(),
  );
  const screening = screeningCard(ctx, jobId, { onSaved: () => loadCandidates() });

  replace(
    root,
    h('p', { class: 'banner info never-rejects', role: 'note', testid: 'never-rejects', text: t('res.neverRejects') }),
    banner,
    h('div', { class: 'grid two resumes-top' }, screening, upload.el),
    list.el,
  );

  async function loadCandidates() {
    try {
      const rows = await API.candidates(jobId);
      if (!ctx.alive) return;
      state.candidates = Array.isArray(rows) ? rows : [];
      state.loaded = true;
      list.draw();
    } catch (e) {
      if (ctx.alive) errorBanner(banner, e);
    }
  }

  function replaceCandidate(updated) {
    const i = state.candidates.findIndex((c) => c.candidate_id === updated.candidate_id);
    if (i >= 0) state.candidates[i] = updated;
    list.draw();
  }

  let panel = null;
  function openPanel(candidate) {
    panel = candidatePanel(ctx, jobId, candidate, {
      onChange: replaceCandidate,
      onErased: (id) => {
        state.candidates = state.candidates.filter((c) => c.candidate_id !== id);
        list.draw();
        notice(banner, t('res.erased'));
      },
    });
  }

  // An interview status change may be an invitation made elsewhere (e.g. re-matching).
  let reloadTimer = null;
  const unsub = ctx.live.subscribe(`job:${jobId}`, (msg) => {
    if (msg.type === 'resume_progress') upload.onProgress(msg);
    else if (msg.type === 'status' && msg.status === 'invited' && !upload.busy()) {
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(() => {
        if (ctx.alive) loadCandidates();
      }, 500);
    }
  });

  loadCandidates();
  return () => {
    unsub();
    clearTimeout(reloadTimer);
    upload.stop();
    if (panel && panel.open) panel.close(); // leaving the view (or switching language)
  };
}

// ---------------------------------------------------------------------------------------------
// upload

function uploadCard(ctx, jobId, knownIds, onFinished) {
  const input = h('input', {
    type: 'file',
    multiple: true,
    accept: RESUME_ACCEPT,
    id: 'resume-files',
    testid: 'resume-files',
    'aria-describedby': 'resume-files-hint',
  });
  const chosen = h('div', { class: 'chosen', testid: 'resume-chosen', 'aria-live': 'polite' });
  const pickErr = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const zone = h(
    'div',
    { class: 'dropzone', testid: 'resume-dropzone' },
    h('p', { class: 'dropzone-title', 'aria-hidden': 'true', text: t('res.upload.drop') }),
    h('label', { for: input.id, class: 'strong', text: t('res.upload.files') }),
    input,
    h('p', { class: 'hint', id: 'resume-files-hint', text: t('res.upload.hint') }),
  );
  const submit = h('button', {
    type: 'submit',
    class: 'btn primary',
    testid: 'resume-upload',
    text: t('res.upload.submit'),
    disabled: true,
  });
  const clearBtn = h('button', {
    type: 'button',
    class: 'btn ghost small',
    testid: 'resume-clear',
    text: t('res.upload.clear'),
    hidden: true,
  });

  const bar = h('progress', { max: '1', value: '0', 'aria-labelledby': 'resume-progress-text' });
  const barText = h('p', { id: 'resume-progress-text', class: 'small', 'aria-live': 'polite' });
  const progressBox = h('div', { class: 'upload-progress', testid: 'resume-progress', hidden: true }, barText, bar);
  const resultBox = h('div', { class: 'upload-result', testid: 'resume-result', hidden: true });

  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    zone,
    chosen,
    pickErr,
    h('div', { class: 'form-actions' }, clearBtn, submit),
    progressBox,
    resultBox,
  );
  const el = card({ id: 'res-up-h', title: t('res.upload.title'), testid: 'resume-upload-card' }, form);

  let batch = batches.get(jobId) || null; // {id, total, done, failed, phase, result, known, lastLive}
  let pollTimer = null;
  let polling = false;
  let pollFailures = 0;

  const files = () => [...(input.files || [])];

  function drawChosen() {
    const list = files();
    showError(pickErr, []);
    clearBtn.hidden = list.length === 0;
    submit.disabled = list.length === 0 || busy();
    if (!list.length) {
      replace(chosen);
      return;
    }
    const size = list.reduce((s, f) => s + f.size, 0);
    replace(
      chosen,
      h('p', { class: 'small strong', text: t('res.upload.selected', { n: list.length, size: fmtBytes(size) }) }),
      h(
        'ul',
        { class: 'chosen-files small' },
        list
          .slice(0, SHOW_FILES)
          .map((f) =>
            h('li', {}, h('span', { text: f.name }), ' ', h('span', { class: 'muted', text: fmtBytes(f.size) })),
          ),
        list.length > SHOW_FILES
          ? h('li', { class: 'muted', text: t('res.upload.more', { n: list.length - SHOW_FILES }) })
          : null,
      ),
    );
  }

  input.addEventListener('change', drawChosen);
  clearBtn.addEventListener('click', () => {
    input.value = '';
    drawChosen();
    input.focus();
  });
  for (const type of ['dragenter', 'dragover']) {
    zone.addEventListener(type, (ev) => {
      if (!ev.dataTransfer || ![...ev.dataTransfer.types].includes('Files')) return;
      ev.preventDefault();
      ev.dataTransfer.dropEffect = 'copy';
      zone.classList.add('drag-over');
    });
  }
  zone.addEventListener('dragleave', (ev) => {
    if (!zone.contains(ev.relatedTarget)) zone.classList.remove('drag-over');
  });
  zone.addEventListener('drop', (ev) => {
    ev.preventDefault();
    zone.classList.remove('drag-over');
    if (ev.dataTransfer && ev.dataTransfer.files.length) {
      input.files = ev.dataTransfer.files;
      drawChosen();
    }
  });

  function busy() {
    return !!batch && batch.phase !== 'done' && batch.phase !== 'failed';
  }

  function drawProgress() {
    if (!batch) {
      progressBox.hidden = true;
      return;
    }
    progressBox.hidden = false;
    progressBox.dataset.state = batch.phase;
    if (batch.phase === 'uploading') {
      const p = batch.sentTotal ? Math.round((batch.sent / batch.sentTotal) * 100) : 0;
      bar.max = 100;
      bar.value = p;
      barText.textContent = t('res.progress.uploading', { p });
    } else if (batch.phase === 'processing') {
      bar.max = Math.max(1, batch.total);
      bar.value = batch.done;
      barText.textContent =
        t('res.progress.processing', { done: batch.done, total: batch.total }) +
        (batch.failed ? t('res.progress.failed', { n: batch.failed }) : '') +
        (pollFailures > 2 ? ` — ${t('res.progress.retrying')}` : '');
    } else if (batch.phase === 'done') {
      bar.max = Math.max(1, batch.total);
      bar.value = bar.max;
      barText.textContent = t('res.progress.done', { total: batch.total });
    } else {
      progressBox.hidden = true;
    }
    progressBox.dataset.done = String(batch.done ?? 0);
    progressBox.dataset.total = String(batch.total ?? 0);
  }

  function drawResult() {
    if (!batch || (!batch.result && !batch.error)) {
      resultBox.hidden = true;
      replace(resultBox);
      return;
    }
    resultBox.hidden = false;
    if (batch.error) {
      const msg = errorText(batch.error, { 429: t('res.busy') });
      replace(resultBox, h('p', { class: 'form-error', role: 'alert', testid: 'resume-upload-error', text: msg }));
      return;
    }
    const s = summarise(batch.result, batch.known);
    const chip = (key, n, testid, kind) =>
      h('span', { class: `chip sum-${kind}${n ? '' : ' zero'}`, testid, dataset: { n: String(n) } }, t(key, { n }));
    const errors = batch.result.errors || [];
    replace(
      resultBox,
      h(
        'div',
        { class: 'chips', role: 'group', 'aria-label': t('res.sum.label'), testid: 'resume-summary' },
        chip('res.sum.imported', s.imported, 'sum-imported', 'ok'),
        chip('res.sum.invited', s.invited, 'sum-invited', 'ok'),
        chip('res.sum.errors', s.errors, 'sum-errors', 'bad'),
        chip('res.sum.duplicates', s.duplicates.length, 'sum-duplicates', 'muted'),
      ),
      errors.length
        ? h(
            'div',
            { class: 'upload-errors' },
            h('h3', { text: t('res.errors.title') }),
            dataTable(
              { class: 'table compact', testid: 'resume-errors' },
              [t('res.errors.file'), t('res.errors.reason')],
              errors.map((e) =>
                h(
                  'tr',
                  { dataset: { file: e.file || '', error: e.error || '' } },
                  h('td', { dataset: { label: t('res.errors.file') } }, h('code', { text: e.file || '' })),
                  h(
                    'td',
                    { dataset: { label: t('res.errors.reason') } },
                    h('strong', { text: t(`res.err.${e.error}`, {}, e.error || '') }),
                    e.message ? h('div', { class: 'muted small', text: e.message }) : null,
                  ),
                ),
              ),
            ),
          )
        : null,
      s.duplicates.length
        ? h(
            'details',
            { class: 'upload-dups' },
            h('summary', { text: t('res.dups.title') }),
            h(
              'ul',
              { class: 'small' },
              s.duplicates.map((c) => h('li', {}, h('code', { text: c.filename || '' }), ' → ', displayName(c))),
            ),
          )
        : null,
    );
  }

  function draw() {
    drawProgress();
    drawResult();
    drawChosen();
  }

  /** A `resume_progress` message from the job's live topic. */
  function onProgress(msg) {
    if (!batch || msg.batch_id !== batch.id || batch.phase === 'done') return;
    batch.phase = 'processing';
    batch.total = msg.total;
    batch.done = msg.done;
    batch.failed = msg.failed;
    batch.lastLive = performance.now();
    if (msg.done >= msg.total) batch.lastLive = 0; // finished: fetch the result now
    drawProgress();
  }

  async function poll() {
    if (!batch || batch.phase !== 'processing' || polling || !ctx.alive) return;
    if (batch.lastLive && performance.now() - batch.lastLive < LIVE_SILENCE_MS) return;
    polling = true;
    try {
      const s = await API.resumeBatch(jobId, batch.id);
      if (!ctx.alive || !batch || batch.phase !== 'processing') return;
      pollFailures = 0;
      batch.total = s.total;
      batch.done = (s.done || 0) + (s.failed || 0);
      batch.failed = s.failed || 0;
      if (Array.isArray(s.candidates)) finish({ candidates: s.candidates, errors: s.errors || [] });
      else drawProgress();
    } catch (e) {
      pollFailures += 1;
      if (e instanceof ApiError && (e.status === 404 || e.status === 403)) fail(e);
      else drawProgress();
    } finally {
      polling = false;
    }
  }

  function startPolling() {
    clearInterval(pollTimer);
    pollTimer = setInterval(poll, POLL_EVERY_MS);
  }

  function finish(result) {
    batch.phase = 'done';
    batch.result = result;
    batch.done = batch.total;
    clearInterval(pollTimer);
    draw();
    onFinished();
  }

  function fail(e) {
    batch.phase = 'failed';
    batch.error = e;
    clearInterval(pollTimer);
    draw();
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const list = files();
    if (!list.length) {
      showError(pickErr, t('res.upload.pick'));
      return;
    }
    const size = list.reduce((s, f) => s + f.size, 0);
    if (size > MAX_BATCH_BYTES) {
      showError(pickErr, t('res.upload.tooBig', { size: fmtBytes(size), max: fmtBytes(MAX_BATCH_BYTES) }));
      return;
    }
    if (list.length > MAX_FILES_PER_BATCH) {
      showError(pickErr, t('res.upload.tooMany', { max: MAX_FILES_PER_BATCH }));
      return;
    }
    batch = {
      id: null,
      phase: 'uploading',
      sent: 0,
      sentTotal: size,
      total: list.length,
      done: 0,
      failed: 0,
      result: null,
      error: null,
      known: knownIds(),
      lastLive: 0,
    };
    batches.set(jobId, batch);
    const mine = batch;
    pollFailures = 0;
    submit.disabled = true;
    draw();
    try {
      const res = await API.uploadResumes(jobId, list, (sent, total) => {
        if (batch !== mine || mine.phase !== 'uploading') return;
        mine.sent = sent;
        mine.sentTotal = total;
        drawProgress();
      });
      if (batch !== mine) return;
      input.value = '';
      if (res && res.batch_id && !Array.isArray(res.candidates)) {
        mine.id = res.batch_id;
        mine.total = res.total;
        mine.phase = 'processing';
        if (ctx.alive) {
          draw();
          startPolling();
          poll();
        }
      } else {
        mine.id = res && res.batch_id;
        if (ctx.alive) finish({ candidates: (res && res.candidates) || [], errors: (res && res.errors) || [] });
        else {
          mine.phase = 'done';
          mine.result = res;
        }
      }
    } catch (e) {
      if (batch !== mine) return;
      mine.phase = 'failed';
      mine.error = e;
      if (ctx.alive) draw();
    }
  });

  // Coming back to the tab: show the last result, or keep following an unfinished batch.
  draw();
  if (batch && batch.phase === 'processing' && batch.id) {
    batch.lastLive = 0;
    startPolling();
    poll();
  }

  return {
    el,
    onProgress,
    busy,
    stop: () => clearInterval(pollTimer),
  };
}

// ---------------------------------------------------------------------------------------------
// candidate list

function candidateList(ctx, state, onOpen) {
  const filters = h('div', {
    class: 'seg',
    role: 'group',
    'aria-label': t('res.filter.label'),
    testid: 'candidate-filters',
  });
  const body = h('div', {});
  const el = card(
    { id: 'res-cands-h', title: t('res.cands.title'), testid: 'resume-candidates', aside: filters },
    h('p', { class: 'muted small threshold-note', testid: 'threshold-note', text: t('res.thresholdNote') }),
    body,
  );

  function drawFilters() {
    const count = (s) =>
      s === 'all' ? state.candidates.length : state.candidates.filter((c) => c.status === s).length;
    replace(
      filters,
      ['all', ...CANDIDATE_STATUSES].map((s) =>
        h(
          'button',
          {
            type: 'button',
            class: `btn small seg-btn${state.filter === s ? ' active' : ''}`,
            'aria-pressed': state.filter === s ? 'true' : 'false',
            testid: `filter-${s.replace(/_/g, '-')}`,
            on: {
              click: () => {
                state.filter = s;
                draw();
              },
            },
          },
          h('span', { text: s === 'all' ? t('res.filter.all') : t(`cstatus.${s}`) }),
          ' ',
          h('span', { class: 'seg-n', text: String(count(s)) }),
        ),
      ),
    );
  }

  function row(c) {
    const id = c.candidate_id;
    const match = c.match || {};
    const score = Number(match.score) || 0;
    const open = h('button', {
      type: 'button',
      class: 'linklike',
      testid: `cand-open-${id}`,
      text: displayName(c),
      on: {
        click: (ev) => {
          ev.stopPropagation();
          onOpen(c);
        },
      },
    });
    const tr = h(
      'tr',
      {
        class: 'clickable',
        testid: `cand-row-${id}`,
        dataset: { candidateId: id, status: c.status, name: c.name || '' },
      },
      h(
        'td',
        { dataset: { label: t('res.col.name') } },
        open,
        h('div', { class: 'muted small', text: baseName(c.filename) }),
      ),
      h(
        'td',
        { dataset: { label: t('res.col.degree') } },
        c.highest_degree ? degreeLabel(c.highest_degree) : h('span', { class: 'muted', text: t('res.unknown') }),
      ),
      h(
        'td',
        { class: 'num', dataset: { label: t('res.col.years') } },
        t('res.years', { n: fmt1(c.experience_years) }),
      ),
      h(
        'td',
        { dataset: { label: t('res.col.score') } },
        h(
          'div',
          { class: 'score' },
          scoreMeter(score, { 'aria-label': t('res.scoreOf', { n: fmt1(score) }) }),
          h('span', { class: 'score-n', testid: 'cand-score', text: fmt1(score) }),
        ),
      ),
      h('td', { dataset: { label: t('res.col.eligible') } }, eligibleMark(match.eligible)),
      h('td', { dataset: { label: t('res.col.status') } }, candidateStatusBadge(c.status)),
    );
    tr.addEventListener('click', () => onOpen(c));
    return tr;
  }

  function draw() {
    drawFilters();
    if (!state.loaded) {
      replace(body, h('p', { class: 'muted', text: t('common.loading') }));
      return;
    }
    if (!state.candidates.length) {
      replace(body, h('p', { class: 'empty muted', testid: 'candidates-empty', text: t('res.cands.empty') }));
      return;
    }
    const shown = state.filter === 'all' ? state.candidates : state.candidates.filter((c) => c.status === state.filter);
    if (!shown.length) {
      replace(body, h('p', { class: 'empty muted', testid: 'candidates-empty', text: t('res.cands.emptyFilter') }));
      return;
    }
    replace(
      body,
      dataTable(
        { class: 'table cands', testid: 'candidates-table' },
        ['name', 'degree', 'years', 'score', 'eligible', 'status'].map((k) =>
          k === 'years' ? { text: t(`res.col.${k}`), class: 'num' } : t(`res.col.${k}`),
        ),
        shown.map(row),
      ),
    );
  }

  draw();
  return { el, draw };
}

/** A 0–100 match score as a meter (red under 40, green from 70). */
function scoreMeter(score, attrs) {
  return h('meter', { min: '0', max: '100', low: '40', high: '70', optimum: '100', value: String(score), ...attrs });
}

function eligibleMark(eligible) {
  const yes = eligible === true;
  return h(
    'span',
    {
      class: `elig ${yes ? 'yes' : 'no'}`,
      testid: 'cand-eligible',
      dataset: { eligible: yes ? 'true' : 'false' },
      title: t(yes ? 'res.eligible.yes' : 'res.eligible.no'),
    },
    h('span', { 'aria-hidden': 'true', text: yes ? '✓' : '✗' }),
    h('span', { class: 'visually-hidden', text: t(yes ? 'res.eligible.yes' : 'res.eligible.no') }),
  );
}

// ---------------------------------------------------------------------------------------------
// candidate panel

/** A value and, one click away (or on hover), the résumé text it was extracted from. */
function sourced(value, source, testid) {
  if (value === null || value === undefined || value === '')
    return h('span', { class: 'muted', text: t('res.noneFound') });
  if (!source) return h('span', { class: 'val', testid, text: String(value) });
  return h(
    'details',
    { class: 'src', testid },
    h('summary', { title: `${t('res.source')}: ${source}` }, h('span', { class: 'val', text: String(value) })),
    h(
      'blockquote',
      { class: 'src-quote', testid: testid ? `${testid}-source` : null },
      h('span', { class: 'visually-hidden', text: `${t('res.source')}: ` }),
      source,
    ),
  );
}

const dateText = (d) => (d === 'present' ? t('res.present') : d || '?');
const span = (a, b) => (a || b ? `${dateText(a)} – ${dateText(b)}` : '');

function candidatePanel(ctx, jobId, initial, { onChange, onErased }) {
  let c = initial;
  let linkState = null; // {url} | {missing: true} once looked up
  const admin = isAdmin(ctx.session);
  const titleId = 'cand-panel-title';
  const content = h('div', { class: 'drawer-body' });
  const closeBtn = h('button', {
    type: 'button',
    class: 'btn ghost small drawer-close',
    testid: 'candidate-close',
    text: `✕ ${t('res.panel.close')}`,
  });
  const dlg = h(
    'dialog',
    {
      class: 'drawer',
      testid: 'candidate-panel',
      'aria-labelledby': titleId,
      dataset: { candidateId: c.candidate_id },
    },
    closeBtn,
    content,
  );
  closeBtn.addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => dlg.remove());
  dlg.addEventListener('click', (ev) => {
    // a click on the backdrop (outside the box) closes
    if (ev.target !== dlg) return;
    const r = dlg.getBoundingClientRect();
    if (ev.clientX < r.left || ev.clientX > r.right || ev.clientY < r.top || ev.clientY > r.bottom) dlg.close();
  });
  const status = h('div', { class: 'panel-status', testid: 'candidate-message', 'aria-live': 'polite' });

  function section(title, ...children) {
    return h('section', { class: 'panel-section' }, h('h3', { text: title }), children);
  }

  function contact() {
    const src = c.sources || {};
    return section(
      t('res.contact'),
      h(
        'dl',
        { class: 'info' },
        h('dt', { text: t('res.name') }),
        h('dd', {}, sourced(c.name, src.name, 'field-name')),
        h('dt', { text: t('res.email') }),
        h('dd', {}, sourced(c.email, src.email, 'field-email')),
        h('dt', { text: t('res.phone') }),
        h('dd', {}, sourced(c.phone, src.phone, 'field-phone')),
        h('dt', { text: t('res.file') }),
        h(
          'dd',
          {},
          h('code', { text: baseName(c.filename) }),
          ' ',
          h('span', { class: 'muted small', text: fmtBytes(c.file_bytes) }),
        ),
      ),
    );
  }

  function education() {
    const items = c.education || [];
    return section(
      t('res.education'),
      items.length
        ? h(
            'ul',
            { class: 'entries', testid: 'field-education' },
            items.map((e) => {
              const head = [e.degree ? degreeLabel(e.degree) : e.degree_text || '', e.school, e.major]
                .filter(Boolean)
                .join(' · ');
              return h(
                'li',
                {},
                sourced(head || t('res.unknown'), e.source),
                span(e.start, e.end) ? h('div', { class: 'muted small', text: span(e.start, e.end) }) : null,
              );
            }),
          )
        : h('p', { class: 'muted small', text: t('res.noneFound') }),
    );
  }

  function experience() {
    const items = c.experience || [];
    return section(
      t('res.experience'),
      h('p', {
        class: 'small',
        testid: 'field-years',
        text: t('res.experienceTotal', { n: fmt1(c.experience_years) }),
      }),
      items.length
        ? h(
            'ul',
            { class: 'entries', testid: 'field-experience' },
            items.map((e) => {
              const head = [e.role, e.employer].filter(Boolean).join(' @ ');
              const when = [
                span(e.start, e.end),
                e.months !== null && e.months !== undefined ? t('res.months', { n: e.months }) : null,
              ]
                .filter(Boolean)
                .join(' · ');
              return h(
                'li',
                {},
                sourced(head || t('res.unknown'), e.source),
                when ? h('div', { class: 'muted small', text: when }) : null,
              );
            }),
          )
        : h('p', { class: 'muted small', text: t('res.noneFound') }),
    );
  }

  function terms(title, values, sources, testid) {
    return section(
      title,
      (values || []).length
        ? h(
            'ul',
            { class: 'term-list', testid },
            values.map((v) => h('li', {}, sourced(v, (sources || {})[v]))),
          )
        : h('p', { class: 'muted small', testid, text: t('res.noneFound') }),
    );
  }

  function criteria() {
    const match = c.match || {};
    const list = match.criteria || [];
    return section(
      t('res.match'),
      h(
        'p',
        { class: 'match-line' },
        scoreMeter(Number(match.score) || 0, { 'aria-hidden': 'true' }),
        ' ',
        h('strong', { testid: 'panel-score', text: t('res.scoreOf', { n: fmt1(match.score) }) }),
        ' ',
        eligibleMark(match.eligible),
        h('span', {
          class: 'small',
          'aria-hidden': 'true',
          text: `${t('res.col.eligible')}: ${t(match.eligible ? 'res.eligible.yes' : 'res.eligible.no')}`,
        }),
      ),
      list.length
        ? h(
            'ul',
            { class: 'crit-list', testid: 'criteria' },
            list.map((k) =>
              h(
                'li',
                { class: `crit ${k.met ? 'met' : 'unmet'}`, dataset: { kind: k.kind, met: k.met ? 'true' : 'false' } },
                h('span', { class: 'crit-mark', 'aria-hidden': 'true', text: k.met ? '✓' : '✗' }),
                h(
                  'div',
                  { class: 'crit-body' },
                  h(
                    'div',
                    {},
                    h('span', { class: 'visually-hidden', text: `${t(k.met ? 'res.crit.met' : 'res.crit.unmet')}: ` }),
                    h('span', { class: 'crit-text', testid: 'criterion-explanation', text: k.explanation || '' }),
                    ' ',
                    h('span', {
                      class: `badge subtle ${k.must ? 'must' : 'nice'}`,
                      text: k.must ? t('res.crit.must') : t('res.crit.nice', { w: k.weight }),
                    }),
                  ),
                  k.source
                    ? h(
                        'details',
                        { class: 'src' },
                        h('summary', { class: 'small', text: t('res.source') }),
                        h('blockquote', { class: 'src-quote', text: k.source }),
                      )
                    : null,
                ),
              ),
            ),
          )
        : h('p', { class: 'muted small', text: t('res.match.none') }),
      h('p', { class: 'muted small', text: t('res.thresholdNote') }),
    );
  }

  function actions() {
    const btns = [];
    if (c.status !== 'invited') {
      btns.push(
        h('button', {
          type: 'button',
          class: 'btn primary',
          testid: 'candidate-invite',
          text: t('res.act.invite'),
          on: { click: (ev) => invite(ev.currentTarget) },
        }),
      );
    }
    if (c.status === 'waiting') {
      btns.push(
        h('button', {
          type: 'button',
          class: 'btn',
          testid: 'candidate-not-selected',
          text: t('res.act.notSelected'),
          on: { click: (ev) => setStatus('not_selected', ev.currentTarget) },
        }),
      );
    } else if (c.status === 'not_selected') {
      btns.push(
        h('button', {
          type: 'button',
          class: 'btn',
          testid: 'candidate-waiting',
          text: t('res.act.backToWaiting'),
          on: { click: (ev) => setStatus('waiting', ev.currentTarget) },
        }),
      );
    } else if (c.status === 'invited' && c.interview_id) {
      btns.push(
        h('a', {
          class: 'btn',
          href: `#/interviews/${encodeURIComponent(c.interview_id)}`,
          testid: 'candidate-interview',
          text: t('res.act.openInterview'),
        }),
      );
      if (!linkState)
        btns.push(
          h('button', {
            type: 'button',
            class: 'btn',
            testid: 'candidate-show-link',
            text: t('res.act.showLink'),
            on: { click: (ev) => showLink(ev.currentTarget) },
          }),
        );
    }
    const files = [];
    if (c.file_bytes)
      files.push(
        h('button', {
          type: 'button',
          class: 'btn',
          testid: 'candidate-download',
          text: t('res.act.download'),
          on: { click: (ev) => download(ev.currentTarget) },
        }),
      );
    if (admin)
      files.push(
        h('button', {
          type: 'button',
          class: 'btn danger-outline',
          testid: 'candidate-erase',
          text: t('res.act.erase'),
          on: { click: (ev) => erase(ev.currentTarget) },
        }),
      );
    let link = null;
    if (linkState && linkState.url) {
      link = h(
        'div',
        { class: 'result', testid: 'candidate-invite-result' },
        linkState.fresh ? h('p', { class: 'ok-text', text: t('res.invited', { name: displayName(c) }) }) : null,
        linkBox(linkState.url, 'candidate-invite-link'),
      );
    } else if (linkState && linkState.missing) {
      link = h('p', { class: 'muted small', testid: 'candidate-invite-result', text: t('res.linkUnavailable') });
    }
    return section(
      t('res.act.title'),
      h('p', { class: 'muted small', text: t('res.act.note') }),
      h('div', { class: 'form-actions left' }, btns),
      link,
      h('div', { class: 'form-actions left' }, files),
      status,
    );
  }

  function draw() {
    const allOpen = content.dataset.allOpen === 'true'; // "show all" survives a re-render
    const toggle = h('button', {
      type: 'button',
      class: 'btn ghost small',
      testid: 'toggle-sources',
      'aria-pressed': 'false',
      text: t('res.panel.showSources'),
    });
    toggle.addEventListener('click', () => {
      const open = toggle.getAttribute('aria-pressed') !== 'true';
      for (const d of content.querySelectorAll('details.src')) d.open = open;
      toggle.setAttribute('aria-pressed', open ? 'true' : 'false');
      toggle.textContent = t(open ? 'res.panel.hideSources' : 'res.panel.showSources');
      content.dataset.allOpen = open ? 'true' : 'false';
    });
    dlg.dataset.status = c.status;
    replace(
      content,
      h(
        'header',
        { class: 'drawer-head' },
        h('h2', { id: titleId, testid: 'candidate-name', text: displayName(c) }),
        candidateStatusBadge(c.status),
      ),
      h('div', { class: 'sources-note' }, h('p', { class: 'small', text: t('res.panel.sourcesHint') }), toggle),
      h(
        'div',
        { class: 'drawer-cols' },
        h(
          'div',
          {},
          contact(),
          education(),
          experience(),
          terms(t('res.skills'), c.skills, (c.sources || {}).skills, 'field-skills'),
          terms(t('res.certificates'), c.certificates, (c.sources || {}).certificates, 'field-certificates'),
        ),
        h('div', {}, criteria(), actions()),
      ),
    );
    if (allOpen) toggle.click();
  }

  const say = (text, kind = 'ok') => {
    replace(
      status,
      h('p', { class: kind === 'ok' ? 'ok-text small' : 'form-error', role: kind === 'ok' ? 'status' : 'alert', text }),
    );
  };
  const errText = (e) => errorText(e, { 409: t('res.conflict') });

  function update(next) {
    c = next;
    onChange(next);
    draw();
  }

  async function lookUpLink(answer, fresh) {
    try {
      const url = await invitationUrl(jobId, c.interview_id, answer);
      linkState = url ? { url, fresh } : { missing: true };
    } catch {
      linkState = { missing: true };
    }
  }

  async function invite(btn) {
    btn.disabled = true;
    try {
      const res = await API.inviteCandidate(c.candidate_id);
      if (!ctx.alive) return;
      c = res;
      await lookUpLink(res, true);
      update(res);
      const box = content.querySelector('[data-testid="candidate-invite-link"]');
      if (box) box.focus();
    } catch (e) {
      btn.disabled = false;
      if (e instanceof ApiError && e.code === 'cannot_invite') {
        const why = /e-mail/.test(e.message)
          ? t('res.missing.email')
          : /name/.test(e.message)
            ? t('res.missing.name')
            : e.message;
        say(t('res.cannotInvite', { msg: why }), 'error');
      } else say(errText(e), 'error');
    }
  }

  async function showLink(btn) {
    btn.disabled = true;
    await lookUpLink(null, false);
    if (ctx.alive) draw();
  }

  async function setStatus(next, btn) {
    const key = next === 'not_selected' ? 'res.confirm.notSelected' : 'res.confirm.waiting';
    const ok = await confirmDialog(t(key, { name: displayName(c) }), {
      ok: t(next === 'not_selected' ? 'res.act.notSelected' : 'res.act.backToWaiting'),
    });
    if (!ok) return;
    btn.disabled = true;
    try {
      const res = await API.setCandidateStatus(c.candidate_id, next);
      if (!ctx.alive) return;
      update(res);
      say(t('res.statusChanged'));
    } catch (e) {
      btn.disabled = false;
      say(errText(e), 'error');
    }
  }

  async function download(btn) {
    btn.disabled = true;
    try {
      const blob = await API.resumeFile(c.candidate_id);
      downloadBlob(baseName(c.filename), blob);
    } catch (e) {
      say(errText(e), 'error');
    } finally {
      btn.disabled = false;
    }
  }

  async function erase(btn) {
    const ok = await confirmDialog(t('res.confirm.erase', { name: displayName(c) }), {
      ok: t('res.act.erase'),
      danger: true,
    });
    if (!ok) return;
    btn.disabled = true;
    try {
      await API.eraseCandidate(c.candidate_id);
      dlg.close();
      onErased(c.candidate_id);
    } catch (e) {
      btn.disabled = false;
      say(errText(e), 'error');
    }
  }

  draw();
  document.body.appendChild(dlg);
  dlg.showModal();
  closeBtn.focus();
  // The list row may be stale (e.g. invited by re-matching since): fetch the current state.
  API.candidate(c.candidate_id)
    .then((fresh) => {
      if (dlg.open && fresh && fresh.status !== c.status) update(fresh);
    })
    .catch(() => {});
  return dlg;
}
