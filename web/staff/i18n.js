// The staff pages' language (admin and examiner share it): the strings are in i18n/zh.json and
// i18n/en.json (format: ../common/i18n.js); the choice is kept in localStorage, so it carries
// over between /admin and /examiner.
import { createI18n, loadDictionaries } from '../common/i18n.js';

const LANG_KEY = 'il.admin.lang';

function initialLang() {
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (saved === 'zh' || saved === 'en') return saved;
  } catch {
    /* storage disabled */
  }
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'zh';
  return nav.toLowerCase().startsWith('en') ? 'en' : 'zh';
}

export const i18n = createI18n(await loadDictionaries(new URL('./i18n/', import.meta.url)), {
  initial: initialLang(),
});

i18n.onChange((lang) => {
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    /* storage disabled: the choice lasts for this page */
  }
});

export const { t, pick, setLang, onChange: onLangChange, apply: applyStatic } = i18n;
export const getLang = () => i18n.lang;

/** Reasons arrive as "English / 中文": the part for the page language. */
export function localReason(reason) {
  const s = String(reason || '');
  // Split where the Chinese half starts (the English half may itself hold " / ").
  let cut = -1;
  for (let i = s.indexOf(' / '); i >= 0; i = s.indexOf(' / ', i + 1)) {
    if (/^[\s"“]*[\u3000-\u9fff\uff00-\uffef]/.test(s.slice(i + 3))) {
      cut = i;
      break;
    }
  }
  if (cut < 0) cut = s.indexOf(' / ');
  if (cut < 0) return s;
  const en = s.slice(0, cut).trim();
  const zh = s.slice(cut + 3).trim();
  return getLang() === 'zh' ? zh || en : en || zh;
}
