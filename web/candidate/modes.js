// How the candidate takes the interview (docs/protocol.md, "Candidate"): "video" (camera and
// microphone), "audio" (microphone only, no face processing) or "text" (written answers, no
// media at all). The org decides which modes are offered; the candidate picks one at consent.
import { modeKey, t } from './i18n.js';

export const MODES = ['video', 'audio', 'text'];
export const DEFAULT_MODE = 'video';

/** The modes this candidate may choose, "video" first (a server without modes: video only). */
export function allowedModes(state) {
  const listed = Array.isArray(state?.modes) ? state.modes.filter((m) => MODES.includes(m)) : [];
  return [DEFAULT_MODE, ...MODES.filter((m) => m !== DEFAULT_MODE && listed.includes(m))];
}

/** The mode chosen at consent; "video" before consent or when the server does not say. */
export function modeOf(state) {
  return MODES.includes(state?.mode) ? state.mode : DEFAULT_MODE;
}

/** Whether the mode sends media over WebRTC (text mode uses the control socket only). */
export function usesMedia(mode) {
  return mode !== 'text';
}

/**
 * Point every `[data-i18n-mode]` element under `root` at the variant of its key for `mode`
 * (see modeKey) so the language switch, which re-applies `data-i18n`, keeps that variant.
 */
export function applyModeTexts(root, mode) {
  for (const el of root.querySelectorAll('[data-i18n-mode]')) {
    el.dataset.i18n = modeKey(el.dataset.i18nMode, mode);
    el.textContent = t(el.dataset.i18n);
  }
}
