// The one i18n engine of every page. Texts live in JSON dictionaries, one file per language
// (`<dir>/zh.json`, `<dir>/en.json`), fetched once when the page starts. An entry is
//  * a string with {name} placeholders: "第 {n}/{total} 题";
//  * with optional parts in [[…]], kept only when every placeholder inside has a value
//    (not missing, null, false or ""): "Hello[[ {name}]], thank you…";
//  * or, for plurals, an object of CLDR plural forms chosen by the `n` variable:
//    {"one": "There is 1 question", "other": "There are {n} questions"}.
// A key missing in the page language falls back to the other language, then to the key.
// Declarative DOM binding through data attributes:
//   <h1 data-i18n="consent.title"></h1>                      → textContent
//   <input data-i18n-attr="placeholder:foo.bar;aria-label:x"> → attributes

export const LANGS = ['zh', 'en'];

/** Normalise "zh-CN", "zh-Hans", "zh" → "zh"; anything else → "en". */
export function normalizeLang(code) {
  const tag = String(code || '').toLowerCase();
  return tag.startsWith('zh') ? 'zh' : 'en';
}

/** The BCP 47 tag for <html lang> and Intl formatters. */
export function htmlLang(lang) {
  return lang === 'zh' ? 'zh-CN' : 'en';
}

/** Fetch the dictionaries `<dir>/<lang>.json` of every language: {zh: {...}, en: {...}}. */
export async function loadDictionaries(dir) {
  const pairs = await Promise.all(
    LANGS.map(async (lang) => {
      const url = new URL(`${lang}.json`, dir);
      const res = await fetch(url, { credentials: 'same-origin' });
      if (!res.ok) throw new Error(`${url.pathname}: HTTP ${res.status}`);
      return [lang, await res.json()];
    }),
  );
  return Object.fromEntries(pairs);
}

const PLACEHOLDER = /\{(\w+)\}/g;
const OPTIONAL = /\[\[(.*?)\]\]/gs;
const pluralRules = new Map();

const hasValue = (v) => v !== undefined && v !== null && v !== false && v !== '';

function pluralForm(lang, n) {
  if (!pluralRules.has(lang)) pluralRules.set(lang, new Intl.PluralRules(htmlLang(lang)));
  return pluralRules.get(lang).select(Number(n));
}

/** Fill one dictionary entry (string or plural forms) with `vars`; see the header. */
export function format(entry, vars = {}, lang = 'en') {
  let text = entry;
  if (entry !== null && typeof entry === 'object') text = entry[pluralForm(lang, vars.n)] ?? entry.other ?? '';
  return String(text)
    .replace(OPTIONAL, (_, part) =>
      [...part.matchAll(PLACEHOLDER)].every(([, name]) => hasValue(vars[name])) ? part : '',
    )
    .replace(PLACEHOLDER, (m, name) => (vars[name] !== undefined && vars[name] !== null ? String(vars[name]) : m));
}

/**
 * The language state of one page over its dictionaries. `t(key, vars, fallback)` translates
 * (`fallback`, else the key, when no dictionary has it); `setLang` switches, updates
 * <html lang>, re-applies the data attributes and tells the `onChange` listeners.
 */
export function createI18n(dicts, { initial = 'en' } = {}) {
  let lang = dicts[initial] ? initial : LANGS.find((l) => dicts[l]);
  const listeners = new Set();

  function lookup(key) {
    for (const l of [lang, ...LANGS.filter((other) => other !== lang)]) {
      const dict = dicts[l];
      if (dict && Object.prototype.hasOwnProperty.call(dict, key)) return dict[key];
    }
    return undefined;
  }

  function t(key, vars = {}, fallback) {
    let entry = lookup(key);
    if (entry === undefined) entry = fallback !== undefined ? fallback : key;
    return format(entry, vars, lang);
  }

  function apply(root = document) {
    for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    for (const el of root.querySelectorAll('[data-i18n-attr]')) {
      for (const pair of el.dataset.i18nAttr.split(';')) {
        const [attr, key] = pair.split(':').map((s) => s.trim());
        if (attr && key) el.setAttribute(attr, t(key));
      }
    }
  }

  function setLang(next) {
    const normalized = normalizeLang(next);
    if (!dicts[normalized]) return;
    lang = normalized;
    document.documentElement.lang = htmlLang(lang);
    apply();
    for (const fn of listeners) fn(lang);
  }

  return {
    t,
    apply,
    setLang,
    get lang() {
      return lang;
    },
    /** Whether some dictionary has `key`. */
    has: (key) => lookup(key) !== undefined,
    /** The page language's text of a {zh, en} object. */
    pick: (localized) => pickText(localized, lang),
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

/** Pick the text for `lang` from a {zh, en} object, falling back to the other language. */
export function pickText(localized, lang) {
  if (!localized) return '';
  if (typeof localized === 'string') return localized;
  return lang === 'zh' ? localized.zh || localized.en || '' : localized.en || localized.zh || '';
}
