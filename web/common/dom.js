// The DOM helpers of every page: no innerHTML with data, no inline handlers (strict CSP friendly).

/** First element matching `sel` under `root` (default: document). */
export function $(sel, root = document) {
  return root.querySelector(sel);
}

/** All elements matching `sel` under `root`, as an array. */
export function $$(sel, root = document) {
  return Array.from(root.querySelectorAll(sel));
}

/** Attributes that `h` sets as properties (their live state, not just the initial markup). */
const PROPERTIES = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'open', 'required', 'multiple']);

/**
 * Create an element: h('p', { class: 'note', testid: 'x' }, 'text', child).
 * attrs: class, text (textContent), testid (data-testid), on: {event: fn}, dataset: {...};
 * value/checked/disabled/hidden/selected/open/required/multiple are set as properties; any
 * other attribute with setAttribute (`true` → an empty attribute). Values of
 * `false`/`null`/`undefined` are skipped.
 * Children may be strings (set as text, never parsed as HTML), nodes, or arrays of them.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, val] of Object.entries(attrs || {})) {
    if (val === undefined || val === null || val === false) continue;
    if (key === 'class') el.className = val;
    else if (key === 'text') el.textContent = val;
    else if (key === 'testid') el.dataset.testid = val;
    else if (key === 'on') for (const [ev, fn] of Object.entries(val)) el.addEventListener(ev, fn);
    else if (key === 'dataset') Object.assign(el.dataset, val);
    else if (PROPERTIES.has(key)) el[key] = val;
    else el.setAttribute(key, val === true ? '' : String(val));
  }
  append(el, children);
  return el;
}

/** A button that does not submit its form (`type="button"`); same arguments as `h`. */
export function button(attrs = {}, ...children) {
  return h('button', { type: 'button', ...attrs }, ...children);
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Remove every child of `el`. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Replace the children of `el` (same child rules as `h`). */
export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

/** Show or hide an element with the `hidden` attribute. */
export function show(el, visible = true) {
  if (el) el.hidden = !visible;
}

/** Move keyboard/screen-reader focus to `el` (made focusable if needed) without scrolling jumps. */
export function focusEl(el) {
  if (!el) return;
  if (!el.hasAttribute('tabindex') && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) {
    el.setAttribute('tabindex', '-1');
  }
  el.focus({ preventScroll: false });
}

/** Replace the text of a live region so screen readers announce it (even if it repeats). */
export function announce(region, text) {
  if (!region) return;
  region.textContent = '';
  // A fresh text node on the next frame makes repeated messages be announced again.
  requestAnimationFrame(() => {
    region.textContent = text;
  });
}

let uid = 0;
/** A unique id for label/for pairs. */
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field: returns {wrap, input, error}. */
export function field(label, input, { hint, errorKey } = {}) {
  if (!input.id) input.id = nextId('in');
  const error = h('p', {
    class: 'field-error',
    role: 'alert',
    hidden: true,
    dataset: errorKey ? { field: errorKey } : {},
  });
  if (errorKey) input.setAttribute('aria-describedby', `${input.id}-err`);
  error.id = `${input.id}-err`;
  const wrap = h(
    'div',
    { class: 'field' },
    h('label', { for: input.id, text: label }),
    input,
    hint ? h('p', { class: 'hint', text: hint }) : null,
    error,
  );
  return { wrap, input, error };
}

/** Show one message or a list (joined with " · ") in an error element; hide it when empty. */
export function showError(errorEl, messages) {
  const list = (Array.isArray(messages) ? messages : [messages]).filter(Boolean);
  errorEl.textContent = list.join(' · ');
  errorEl.hidden = list.length === 0;
}

/** Add one message to those an error element already shows (see showError). */
export function addError(errorEl, message) {
  showError(errorEl, [...(errorEl.hidden ? [] : [errorEl.textContent]), message]);
}

/** Copy text to the clipboard; falls back to a hidden textarea + execCommand. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall through */
  }
  const ta = h('textarea', { class: 'visually-hidden', readonly: true });
  ta.value = text;
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

/** Trigger a client-side download of text content. */
export function downloadText(filename, text, type = 'text/csv;charset=utf-8') {
  downloadBlob(filename, new Blob([text], { type }));
}

/** Save a Blob (e.g. a file fetched with the bearer token) through a short-lived object URL. */
export function downloadBlob(filename, blob) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, class: 'visually-hidden' });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
