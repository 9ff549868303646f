// Shared pieces of the examiner's live view (and its review page): limits, time and number
// formatting, the evidence list, the interview mode helpers and the panel heading.

import { h } from '../../common/dom.js';
import { t } from '../../staff/i18n.js';
import { INTERVIEW_MODES, modeBadge } from '../../staff/reportparts.js';

export const MAX_FINALS = 500;
export const MAX_FLAGS = 300;
export const FACE_SAMPLES = 60;
export const FLAG_TYPES = [
  'face_missing',
  'extra_person',
  'looking_away',
  'out_of_frame',
  'long_silence',
  'tab_hidden',
  'paste',
];

/** Media seconds → "m:ss" (or "h:mm:ss"). */
export function mediaTime(s) {
  if (s === null || s === undefined || Number.isNaN(Number(s))) return '—';
  const total = Math.max(0, Math.floor(Number(s)));
  const hh = Math.floor(total / 3600);
  const mm = Math.floor((total % 3600) / 60);
  const ss = String(total % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

export const countdown = (s) => {
  const v = Math.max(0, Math.ceil(Number(s) || 0));
  return `${String(Math.floor(v / 60)).padStart(2, '0')}:${String(v % 60).padStart(2, '0')}`;
};
export const pct = (x) => (x === null || x === undefined ? t('ex.none') : `${Math.round(Number(x) * 100)}%`);
export const num = (x, digits = 1) =>
  x === null || x === undefined ? t('ex.none') : (Math.round(Number(x) * 10 ** digits) / 10 ** digits).toFixed(digits);
export const qLabel = (qi) => (qi === null || qi === undefined ? '' : t('ex.tr.qshort', { n: Number(qi) + 1 }));
export const finalKey = (f) =>
  `${f.question_index ?? ''}|${f.utterance_id ?? ''}|${Math.round(Number(f.start_s || 0) * 1000)}`;
export const flagKey = (type, start) => `${type}|${Math.round(Number(start || 0) * 1000)}`;

export function timeSpan(start, end) {
  const a = mediaTime(start);
  if (end === null || end === undefined) return a;
  const b = mediaTime(end);
  return a === b ? a : `${a}–${b}`;
}

export function evidenceText(ev) {
  const parts = [];
  if (ev.start_s !== null && ev.start_s !== undefined) {
    parts.push(timeSpan(ev.start_s, ev.end_s));
  }
  parts.push(ev.detail || '');
  if (ev.value !== null && ev.value !== undefined) parts.push(`= ${Math.round(Number(ev.value) * 100) / 100}`);
  return parts.filter(Boolean).join(' ');
}

// The mode badge is shared with the admin report (one set of strings and styles).
export { INTERVIEW_MODES, modeBadge };

/** Face and gaze exist only for a video interview (unknown mode: an older video interview). */
export const hasFace = (mode) => !INTERVIEW_MODES.includes(mode) || mode === 'video';
/** Speech delivery exists unless the answers were written. */
export const hasSpeech = (mode) => mode !== 'text';

/** How a question was answered: all in writing in a text interview, by voice alone in an audio one. */
export function answeredAs(mode, media) {
  if (mode === 'text') return 'text';
  if (mode === 'audio' && media === 'video') return 'audio';
  return media;
}

export function mediaBadge(mode, media) {
  const shown = answeredAs(mode, media);
  return shown ? h('span', { class: `badge media media-${shown}`, text: t(`media.${shown}`) }) : null;
}

export function evidenceList(evidence, testid) {
  return h(
    'ul',
    { class: 'evidence', testid },
    (evidence || []).map((ev) =>
      h(
        'li',
        { class: `ev ev-${ev.kind || 'other'}` },
        h('span', { class: 'ev-kind', text: t(`ex.ev.${ev.kind}`, {}, ev.kind || '') }),
        ev.start_s !== null && ev.start_s !== undefined
          ? h('span', { class: 'ev-time', text: timeSpan(ev.start_s, ev.end_s) })
          : null,
        h('span', { class: 'ev-detail', text: ev.detail || '' }),
        ev.value !== null && ev.value !== undefined
          ? h('span', { class: 'ev-value', text: String(Math.round(Number(ev.value) * 100) / 100) })
          : null,
      ),
    ),
  );
}

/** A panel's heading: its title and, on the right, `aside`. */
export const panelHead = (titleKey, aside = null) =>
  h('div', { class: 'card-head' }, h('h2', { class: 'card-title', text: t(titleKey) }), aside);
