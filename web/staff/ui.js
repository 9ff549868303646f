// Shared view pieces: status badges, count chips, question cards, dates, tables, cards, error
// texts and summaries, the load/save cycle of a form the server validates, the one-file upload
// form, CSV helpers, page-header and empty-list pieces.

import { h, button, replace, copyText, field, showError, downloadText } from '../common/dom.js';
import { t, pick, getLang } from './i18n.js';
import { API, ApiError } from './api.js';

export const STATUSES = [
  'invited',
  'opened',
  'consented',
  'device_checked',
  'in_progress',
  'completed',
  'declined',
  'expired',
  'revoked',
];
export const TERMINAL = new Set(['completed', 'declined', 'expired', 'revoked']);
export const SECTIONS = ['self_intro', 'structured', 'professional'];

export const testidForStatus = (status) => `count-${status.replace(/_/g, '-')}`;

export function statusBadge(status) {
  return h('span', { class: `badge status status-${status}`, dataset: { status }, text: t(`status.${status}`) });
}

/** Count chips for every status. Returns {el, update(counts)}. */
export function countChips(counts = {}, { label } = {}) {
  const nums = new Map();
  const chips = STATUSES.map((status) => {
    const n = h('span', { class: 'chip-n', testid: testidForStatus(status), text: '0' });
    nums.set(status, n);
    return h(
      'span',
      { class: `chip chip-${status}`, dataset: { status } },
      h('span', { class: 'chip-label', text: t(`status.${status}`) }),
      n,
    );
  });
  const el = h('div', { class: 'chips', role: 'group', 'aria-label': label || t('counts.label') }, chips);
  const update = (c = {}) => {
    for (const status of STATUSES) {
      const v = Number(c[status] || 0);
      const n = nums.get(status);
      if (n.textContent !== String(v)) {
        n.textContent = String(v);
        n.parentElement.classList.remove('bump');
        void n.parentElement.offsetWidth; // restart the highlight animation
        n.parentElement.classList.add('bump');
      }
      n.parentElement.classList.toggle('zero', v === 0);
    }
  };
  update(counts);
  for (const n of nums.values()) n.parentElement.classList.remove('bump');
  return { el, update };
}

export function fmtDate(value) {
  if (!value) return '—';
  const d = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat(getLang() === 'zh' ? 'zh-CN' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
  }).format(d);
}

export function timeEl(value) {
  const el = h('time', { text: fmtDate(value) });
  if (value && typeof value === 'string') el.setAttribute('datetime', value);
  return el;
}

export function languageName(code) {
  if (!code) return '—';
  return code.startsWith('zh') ? t('lang.zh') : t('lang.en');
}

// ---------- competencies (catalogue cache) ----------
let catalogue = null;
let cataloguePromise = null;
export async function loadCompetencies() {
  if (catalogue) return catalogue;
  if (!cataloguePromise) {
    cataloguePromise = API.competencies()
      .then((list) => {
        catalogue = Array.isArray(list) ? list : [];
        return catalogue;
      })
      .catch((e) => {
        cataloguePromise = null;
        throw e;
      });
  }
  return cataloguePromise;
}
export function competencyCatalogue() {
  return catalogue || [];
}
export function competencyName(id, fallbackName) {
  const c = (catalogue || []).find((x) => x.id === id);
  if (c) return pick(c.name) || id;
  if (fallbackName) return pick(fallbackName) || id;
  return id;
}
export function resetCaches() {
  catalogue = null;
  cataloguePromise = null;
}

// ---------- questions ----------
export function questionCard(q, { actions = [], reason = null, compact = false } = {}) {
  const text = q.text || {};
  const meta = h(
    'div',
    { class: 'q-meta' },
    h('span', { class: 'badge', text: t(`section.${q.section}`) }),
    h('span', { class: `badge media media-${q.media}`, text: t(`media.${q.media}`) }),
    h('span', { class: 'q-times', text: t('q.times', { prep: q.prep_s ?? '—', answer: q.answer_s ?? '—' }) }),
    q.builtin
      ? h('span', { class: 'badge subtle', text: t('q.builtin') })
      : h('span', { class: 'badge subtle own', text: t('q.own') }),
    h('code', { class: 'q-id', text: q.id || '' }),
  );
  const comps = (q.competencies || []).map((id) => h('span', { class: 'tag', text: competencyName(id) }));
  const tags = (q.tags || []).map((tg) => h('span', { class: 'tag subtle', text: `#${tg}` }));
  return h(
    'div',
    {
      class: `question${compact ? ' compact' : ''}`,
      dataset: { qid: q.id || '' },
      testid: q.id ? `question-${q.id}` : null,
    },
    h(
      'div',
      { class: 'q-body' },
      meta,
      text.zh ? h('p', { class: 'q-text', lang: 'zh-CN' }, h('span', { class: 'q-lang', text: '中' }), text.zh) : null,
      text.en ? h('p', { class: 'q-text', lang: 'en' }, h('span', { class: 'q-lang', text: 'EN' }), text.en) : null,
      comps.length || tags.length ? h('div', { class: 'q-tags' }, comps, tags) : null,
      reason ? h('p', { class: 'q-reason', text: `${t('q.reason')}: ${reason}` }) : null,
    ),
    actions.length ? h('div', { class: 'q-actions' }, actions) : null,
  );
}

// ---------- tables ----------
/**
 * A column head: a text, or {text, class, hidden}; `hidden` keeps the text for screen readers
 * only (an actions column). `null` leaves the column out.
 */
function columnHead(col) {
  if (col === null || col === undefined) return null;
  if (typeof col === 'string') return h('th', { scope: 'col', text: col });
  return h(
    'th',
    { scope: 'col', class: col.class },
    col.hidden ? h('span', { class: 'visually-hidden', text: col.text }) : col.text,
  );
}

/**
 * A table in its scrolling wrapper: `attrs` of the <table>, its column heads (see columnHead),
 * its rows (or a <tbody> the caller fills later), an optional visually hidden caption and an
 * optional footer row.
 */
export function dataTable(attrs, columns, body, { caption, foot } = {}) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      attrs,
      caption ? h('caption', { class: 'visually-hidden', text: caption }) : null,
      h('thead', {}, h('tr', {}, columns.map(columnHead))),
      body instanceof Node ? body : h('tbody', {}, body),
      foot ? h('tfoot', {}, foot) : null,
    ),
  );
}

// ---------- errors ----------
/** A table of 422 `errors` rows: row / field / message. */
export function errorTable(errors, { testid = 'error-table' } = {}) {
  return dataTable(
    { class: 'table errors', testid },
    [t('err.row'), t('err.field'), t('err.message')],
    errors.map((e) =>
      h(
        'tr',
        {},
        h('td', { text: e.row === null || e.row === undefined ? '—' : String(e.row) }),
        h('td', {}, h('code', { text: e.field || '—' })),
        h('td', { text: e.message || '' }),
      ),
    ),
  );
}

/**
 * After a 422: `summary` (above `form`) shows `title` and a table of the rows no field took
 * (test id `testid`); the first field marked invalid gets the focus.
 */
export function showErrorSummary(summary, form, title, rows, testid) {
  summary.hidden = false;
  replace(summary, h('strong', { text: title }), rows.length ? errorTable(rows, { testid }) : null);
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) first.focus();
}

// ---------- forms the server validates ----------
/** A number field's value: "" → null, anything else as a number (the server checks the range). */
export function numberOrNull(text) {
  const s = String(text ?? '').trim();
  return s === '' ? null : Number(s);
}

/**
 * The summary of the error rows no field takes (test id `<prefix>-errors`), the line that says
 * the form was saved (`<prefix>-status`) and the submit button (`<prefix>-save`, disabled until
 * serverForm has loaded the form).
 */
export function serverFormParts(prefix, saveText) {
  return {
    summary: h('div', { class: 'form-errors', role: 'alert', testid: `${prefix}-errors`, hidden: true }),
    status: h('div', { testid: `${prefix}-status`, hidden: true }),
    save: h('button', {
      type: 'submit',
      class: 'btn primary',
      testid: `${prefix}-save`,
      text: saveText,
      disabled: true,
    }),
  };
}

/**
 * Load and save a form the server validates. `load()` fetches what `fill(data)` shows; then
 * the form stops being aria-busy and `save` is enabled. A submit runs `clear()`, hides
 * `status`, sends `send()`, fills the form with the answer and calls `saved(answer)`; a 422's
 * rows go to `invalid(rows)`, any other failure to `failed(err)` (a failed load to
 * `loadFailed(err)`, by default `failed`). Nothing is shown once the view is gone.
 */
export function serverForm(
  ctx,
  { form, save, status, load, send, fill, clear, saved, invalid, failed, loadFailed = failed },
) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear();
    status.hidden = true;
    save.disabled = true;
    try {
      const answer = await send();
      if (!ctx.alive) return;
      fill(answer);
      saved(answer);
    } catch (e) {
      if (!ctx.alive) return;
      if (e instanceof ApiError && e.errors.length) invalid(e.errors);
      else failed(e);
    } finally {
      save.disabled = false;
    }
  });
  load()
    .then((data) => {
      if (!ctx.alive) return;
      fill(data);
      form.removeAttribute('aria-busy');
      save.disabled = false;
    })
    .catch((e) => {
      if (ctx.alive) loadFailed(e);
    });
}

// ---------- file upload ----------
/**
 * A form that uploads one file (an import, a bulk invitation): the file field, the submit button
 * and a button that downloads a CSV template (`template`: {filename, header, rows}), before the
 * submit button when `templateFirst`. Its texts are the dictionary's `<keys>.file`, `.hint`,
 * `.submit`, `.template`, `.pick` (no file chosen) and `.invalid` (`{n}` rejected rows); its test
 * ids `<prefix>-file`, `-submit`, `-template`. `send(file)` uploads the picked file; `done(answer)`
 * shows the answer (the file field is emptied first). A rejected file's row errors (a 422) or any
 * other error go to `show(...nodes)`: a message line (`<prefix>-error`) and the rows' table
 * (`<prefix>-errors`); `show()` with nothing also clears the last result when an upload starts,
 * unless `keepWhileSending`. `result` (an element) ends the form. Returns {form, file}.
 */
export function uploadForm(
  ctx,
  {
    prefix,
    keys = prefix,
    accept,
    template,
    templateFirst = false,
    result = null,
    keepWhileSending = false,
    send,
    done,
    show,
  },
) {
  const texts = {
    label: t(`${keys}.file`),
    hint: t(`${keys}.hint`),
    submit: t(`${keys}.submit`),
    template: t(`${keys}.template`),
    pick: t(`${keys}.pick`),
    invalid: (n) => t(`${keys}.invalid`, { n }),
  };
  const input = h('input', { type: 'file', name: 'file', accept, testid: `${prefix}-file` });
  const file = field(texts.label, input, { hint: texts.hint });
  const submit = h('button', { type: 'submit', class: 'btn primary', testid: `${prefix}-submit`, text: texts.submit });
  const templateBtn = button({
    class: 'btn ghost small',
    testid: `${prefix}-template`,
    text: texts.template,
    on: { click: () => downloadText(template.filename, toCsv(template.header, template.rows)) },
  });
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    file.wrap,
    h('div', { class: 'form-actions' }, templateFirst ? [templateBtn, submit] : [submit, templateBtn]),
    result,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(file.error, []);
    const picked = input.files && input.files[0];
    if (!picked) {
      showError(file.error, texts.pick);
      return;
    }
    submit.disabled = true;
    if (!keepWhileSending) show();
    try {
      const answer = await send(picked);
      if (!ctx.alive) return;
      input.value = '';
      await done(answer);
    } catch (e) {
      if (!ctx.alive) return;
      const rows = e instanceof ApiError ? e.errors : [];
      show(
        h('p', {
          class: 'form-error',
          role: 'alert',
          testid: `${prefix}-error`,
          text: rows.length
            ? texts.invalid(rows.length)
            : e.status === 0
              ? t('err.network')
              : e.message || t('err.generic'),
        }),
        rows.length ? errorTable(rows, { testid: `${prefix}-errors` }) : null,
      );
    } finally {
      submit.disabled = false;
    }
  });
  return { form, file };
}

/**
 * The text of a failed request: `special[status]` when the caller has one for its status, else
 * the texts of a network failure and of a 403, else the error's message.
 */
export function errorText(err, special = {}) {
  if (special[err.status]) return special[err.status];
  if (err.status === 0) return t('err.network');
  if (err.status === 403) return t('err.forbidden');
  return err.message || t('err.generic');
}

/** Render an ApiError (or any error) into a banner element. */
export function errorBanner(target, err) {
  if (!err) {
    replace(target);
    target.hidden = true;
    return;
  }
  target.hidden = false;
  replace(target, h('div', { class: 'banner error', role: 'alert' }, errorText(err)));
}

export function notice(target, text, kind = 'ok') {
  target.hidden = false;
  replace(target, h('div', { class: `banner ${kind}`, role: 'status' }, text));
}

// ---------- CSV ----------
export function csvCell(v) {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
export function toCsv(header, rows) {
  // BOM so spreadsheet apps read UTF-8 (Chinese names) correctly.
  return `\ufeff${[header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

export function absoluteUrl(url) {
  try {
    return new URL(url, location.origin).href;
  } catch {
    return url;
  }
}

/**
 * A card: a section headed by its title. `id` names the h2, which then labels the section;
 * `class` is added to `card`; `aside` stands next to the title (in a card-head row); any other
 * attribute (testid…) goes to the section.
 */
export function card({ id, title, class: cls, aside, ...attrs }, ...children) {
  const heading = h('h2', { id, class: 'card-title', text: title });
  return h(
    'section',
    { class: cls ? `card ${cls}` : 'card', 'aria-labelledby': id, ...attrs },
    aside ? h('div', { class: 'card-head' }, heading, aside) : heading,
    children,
  );
}

export function pageHeader(title, ...extra) {
  return h(
    'div',
    { class: 'page-head' },
    h('h1', { text: title, tabindex: '-1' }),
    h('div', { class: 'page-actions' }, extra),
  );
}

/** The line that stands for an empty list or table. */
export function emptyNote(text, testid) {
  return h('p', { class: 'empty muted', testid, text });
}

/** The "← Jobs" link of a page header: back to the job list. */
export function backToJobs() {
  return h('a', { class: 'btn ghost', href: '#/jobs', text: `← ${t('jobs.title')}` });
}

/** A modal confirmation (<dialog>); resolves true when confirmed. */
export function confirmDialog(message, { title = t('common.confirm'), ok = t('common.ok'), danger = false } = {}) {
  return new Promise((resolve) => {
    const okBtn = h('button', {
      type: 'submit',
      value: 'ok',
      class: `btn ${danger ? 'danger' : 'primary'}`,
      testid: 'confirm-ok',
      text: ok,
    });
    const cancelBtn = h('button', {
      type: 'submit',
      value: 'cancel',
      class: 'btn',
      testid: 'confirm-cancel',
      text: t('common.cancel'),
    });
    const dlg = h(
      'dialog',
      { class: 'dialog', testid: 'confirm-dialog', 'aria-labelledby': 'confirm-title' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'confirm-title', text: title }),
        h('p', { text: message }),
        h('div', { class: 'dialog-actions' }, cancelBtn, okBtn),
      ),
    );
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok');
      dlg.remove();
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    cancelBtn.focus();
  });
}

/** A read-only invitation link with a copy button. */
export function linkBox(url, testid) {
  const full = absoluteUrl(url);
  const input = h('input', { type: 'text', readonly: true, value: full, testid, 'aria-label': t('invite.link') });
  input.addEventListener('focus', () => input.select());
  const status = h('span', { class: 'copy-status', role: 'status' });
  const btn = button({
    class: 'btn small',
    testid: 'copy-link',
    text: t('invite.copy'),
    on: {
      click: async () => {
        const ok = await copyText(full);
        status.textContent = ok ? t('invite.copied') : t('invite.copyFailed');
        setTimeout(() => {
          status.textContent = '';
        }, 2000);
      },
    },
  });
  return h('div', { class: 'link-box' }, input, btn, status);
}

// ---------- tag input ----------
const TAG_SEPARATORS = /[,，、;；\n]/;

/**
 * A labelled list of short terms (skills, certificates): Enter or a comma adds the typed term,
 * Backspace in the empty box removes the last one, each chip has a labelled remove button.
 * Returns {wrap, input, error, values(), set(list), commit()}; commit() adds what is still typed.
 */
export function tagInput(label, { testid, hint } = {}) {
  let values = [];
  const list = h('ul', { class: 'tag-chips', testid: testid ? `${testid}-chips` : null });
  const input = h('input', { type: 'text', autocomplete: 'off', testid: testid ? `${testid}-input` : null });
  const f = field(label, input, { hint: hint || t('tags.hint') });
  const box = h('div', { class: 'tag-input' }, list);
  f.wrap.insertBefore(box, input);
  box.appendChild(input); // the label still names the input (for=id)
  box.addEventListener('click', (ev) => {
    if (ev.target === box || ev.target === list) input.focus();
  });

  function draw() {
    replace(
      list,
      values.map((v, i) =>
        h(
          'li',
          { class: 'tag-chip', dataset: { value: v } },
          h('span', { text: v }),
          button({
            class: 'tag-remove',
            'aria-label': t('tags.remove', { v }),
            text: '×',
            on: {
              click: () => {
                values.splice(i, 1);
                draw();
                input.focus();
              },
            },
          }),
        ),
      ),
    );
  }
  function add(text) {
    for (const part of String(text).split(TAG_SEPARATORS)) {
      const v = part.trim().replace(/\s+/g, ' ');
      if (v && !values.some((x) => x.toLowerCase() === v.toLowerCase())) values.push(v);
    }
    draw();
  }
  function commit() {
    if (input.value.trim()) add(input.value);
    input.value = '';
  }
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      commit();
    } else if (ev.key === 'Backspace' && !input.value && values.length) {
      values.pop();
      draw();
    }
  });
  input.addEventListener('input', () => {
    if (TAG_SEPARATORS.test(input.value)) commit();
  });
  input.addEventListener('blur', commit);
  return {
    wrap: f.wrap,
    input,
    error: f.error,
    values: () => {
      commit();
      return [...values];
    },
    set: (list2) => {
      values = [];
      add((list2 || []).join('\n'));
    },
    commit,
  };
}
