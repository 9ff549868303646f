// The résumé upload card: file picker and drop zone, upload progress, then the batch's
// progress (live `resume_progress` messages, the status URL polled when those stop) and its
// per-file errors and summary.

import { h, button, replace, showError } from '../../common/dom.js';
import { API, ApiError } from '../../staff/api.js';
import { t } from '../../staff/i18n.js';
import { card, dataTable, errorText } from '../../staff/ui.js';
import {
  RESUME_ACCEPT,
  MAX_BATCH_BYTES,
  MAX_FILES_PER_BATCH,
  LIVE_SILENCE_MS,
  POLL_EVERY_MS,
  fmtBytes,
  displayName,
  summarise,
} from './common.js';

const SHOW_FILES = 8;

// The batch of each job survives leaving the tab (kept in memory for this page load only).
const batches = new Map(); // jobId -> batch state

export function uploadCard(ctx, jobId, knownIds, onFinished) {
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
  const clearBtn = button({
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
