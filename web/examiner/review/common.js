// Shared pieces of the examiner's review page: limits, number formatting, the review REST
// calls and the mapping of media time to recordings and words.

import { API, ApiError, session } from '../../staff/api.js';
import { t } from '../../staff/i18n.js';

export const RECOMMENDATIONS = ['advance', 'hold', 'reject'];
/** A word starting this close outside a recording still plays from that recording's edge. */
export const EDGE_TOLERANCE_S = 0.5;
/** The highlighted word stays lit this long past its end (short gaps between words). */
export const HIGHLIGHT_HOLD_S = 0.35;

export const enc = encodeURIComponent;
export const CJK = /[\u3000-\u9fff\uff00-\uffef]/;
export const isNum = (x) => x !== null && x !== undefined && x !== '' && Number.isFinite(Number(x));
export const fmt1 = (x) => (isNum(x) ? (Math.round(Number(x) * 10) / 10).toFixed(1) : t('ex.none'));

// ---------------- REST (the shared admin client has no review endpoints) ----------------

async function call(method, path, { json, text = false } = {}) {
  const headers = { Accept: text ? 'text/html' : 'application/json' };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, { error: 'network', message: String((e && e.message) || e) });
  }
  const ctype = res.headers.get('Content-Type') || '';
  let data = null;
  if (res.ok && text) data = await res.text();
  else if (ctype.includes('json')) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  } else {
    const s = await res.text();
    data = s ? { message: s.slice(0, 300) } : null;
  }
  // The shared client owns the session: one of its calls sees the 401 too and shows the login.
  if (res.status === 401) API.me().catch(() => {});
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const ReviewAPI = {
  report: (id) => call('GET', `/api/interviews/${enc(id)}/report`),
  reportHtml: (id, lang) =>
    call('GET', `/api/interviews/${enc(id)}/report?format=html&lang=${enc(lang)}`, { text: true }),
  review: (id, body) => call('POST', `/api/interviews/${enc(id)}/reviews`, { json: body }),
  decision: (id, body) => call('POST', `/api/interviews/${enc(id)}/decision`, { json: body }),
};

// ---------------- time mapping ----------------

/**
 * The recording (index into `recordings`) that holds media time `s`, or -1. A time just
 * outside every recording (≤ EDGE_TOLERANCE_S) goes to the nearest one.
 */
export function recordingIndexFor(recordings, s) {
  let best = -1;
  let bestDist = Infinity;
  (recordings || []).forEach((r, k) => {
    if (!isNum(r.media_start_s)) return;
    const a = Number(r.media_start_s);
    const b = a + Math.max(0, Number(r.duration_s) || 0);
    const dist = s < a ? a - s : s > b ? s - b : 0;
    if (dist < bestDist) {
      best = k;
      bestDist = dist;
    }
  });
  return bestDist <= EDGE_TOLERANCE_S ? best : -1;
}

/** Last index i with words[i].start <= x (words sorted by start), or -1. */
export function lastStartingBefore(words, x) {
  let lo = 0;
  let hi = words.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (words[mid].start <= x) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
