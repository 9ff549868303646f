// Tiny i18n: a dictionary per language, {name} placeholders, function entries for plurals,
// and declarative DOM binding through data attributes:
//   <h1 data-i18n="consent.title"></h1>                      → textContent
//   <input data-i18n-attr="placeholder:foo.bar;aria-label:x"> → attributes

/** Normalise "zh-CN", "zh-Hans", "zh" → "zh"; anything else → "en". */
export function normalizeLang(code) {
  return String(code || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

/** The BCP 47 tag for <html lang>. */
export function htmlLang(lang) {
  return lang === "zh" ? "zh-CN" : "en";
}

export function createI18n(dicts, { fallback = "en", initial = fallback } = {}) {
  let lang = dicts[initial] ? initial : fallback;
  const listeners = new Set();

  function t(key, vars = {}) {
    let entry = dicts[lang]?.[key];
    if (entry === undefined) entry = dicts[fallback]?.[key];
    if (entry === undefined) return key;
    if (typeof entry === "function") return entry(vars);
    return String(entry).replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  }

  function apply(root = document) {
    for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of root.querySelectorAll("[data-i18n-attr]")) {
      for (const pair of el.dataset.i18nAttr.split(";")) {
        const [attr, key] = pair.split(":").map((s) => s.trim());
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
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

/** Pick the text for `lang` from a {zh, en} object, falling back to the other language. */
export function pickText(localized, lang) {
  if (!localized) return "";
  if (typeof localized === "string") return localized;
  return lang === "zh" ? localized.zh || localized.en || "" : localized.en || localized.zh || "";
}
