// Small DOM helpers shared by the pages. No framework, no inline handlers.

/** First element matching `sel` under `root` (default: document). */
export function $(sel, root = document) {
  return root.querySelector(sel);
}

/** All elements matching `sel` under `root`, as an array. */
export function $$(sel, root = document) {
  return Array.from(root.querySelectorAll(sel));
}

/**
 * Create an element: h("p", {class: "note", "data-testid": "x"}, "text", child).
 * Attribute values of `false`/`null`/`undefined` are skipped; `true` sets an empty attribute.
 * Children may be strings (set as text, never parsed as HTML), nodes, or arrays of them.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Show or hide an element with the `hidden` attribute. */
export function show(el, visible = true) {
  if (el) el.hidden = !visible;
}

/** Move keyboard/screen-reader focus to `el` (made focusable if needed) without scrolling jumps. */
export function focusEl(el) {
  if (!el) return;
  if (!el.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) {
    el.setAttribute("tabindex", "-1");
  }
  el.focus({ preventScroll: false });
}

/** Replace the text of a live region so screen readers announce it (even if it repeats). */
export function announce(region, text) {
  if (!region) return;
  region.textContent = "";
  // A fresh text node on the next frame makes repeated messages be announced again.
  requestAnimationFrame(() => {
    region.textContent = text;
  });
}
