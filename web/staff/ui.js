// Shared view pieces: status badges, count chips, question cards, dates, CSV helpers.

import { h, replace, copyText, field } from '../common/dom.js';
import { t, pick, getLang } from './i18n.js';
import { API } from './api.js';

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

// ---------- errors ----------
/** A table of 422 `errors` rows: row / field / message. */
export function errorTable(errors, { testid = 'error-table' } = {}) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table errors', testid },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col', text: t('err.row') }),
          h('th', { scope: 'col', text: t('err.field') }),
          h('th', { scope: 'col', text: t('err.message') }),
        ),
      ),
      h(
        'tbody',
        {},
        errors.map((e) =>
          h(
            'tr',
            {},
            h('td', { text: e.row === null || e.row === undefined ? '—' : String(e.row) }),
            h('td', {}, h('code', { text: e.field || '—' })),
            h('td', { text: e.message || '' }),
          ),
        ),
      ),
    ),
  );
}

/** Render an ApiError (or any error) into a banner element. */
export function errorBanner(target, err) {
  if (!err) {
    replace(target);
    target.hidden = true;
    return;
  }
  target.hidden = false;
  const msg =
    err.status === 0 ? t('err.network') : err.status === 403 ? t('err.forbidden') : err.message || t('err.generic');
  replace(target, h('div', { class: 'banner error', role: 'alert' }, msg));
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

export function pageHeader(title, ...extra) {
  return h(
    'div',
    { class: 'page-head' },
    h('h1', { text: title, tabindex: '-1' }),
    h('div', { class: 'page-actions' }, extra),
  );
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
  const btn = h('button', {
    type: 'button',
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
          h('button', {
            type: 'button',
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
