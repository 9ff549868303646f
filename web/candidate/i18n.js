// The candidate page's language: every user-visible string, in Simplified Chinese and English,
// lives in i18n/zh.json and i18n/en.json (format: ../common/i18n.js).
import { createI18n, loadDictionaries } from '../common/i18n.js';

export const i18n = createI18n(await loadDictionaries(new URL('./i18n/', import.meta.url)), { initial: 'en' });
export const t = i18n.t;

/**
 * The variant of `key` for an interview mode: `${key}.audio` / `${key}.text` when the
 * dictionaries have one, else `key` itself (video, and texts that are the same in every mode).
 */
export function modeKey(key, mode) {
  const variant = `${key}.${mode}`;
  return mode && mode !== 'video' && i18n.has(variant) ? variant : key;
}
