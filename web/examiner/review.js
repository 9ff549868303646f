// Review after completion (#/interviews/<id>/review): per answer the question, the recordings,
// the transcript as clickable words (click → the video seeks there; the playing word is
// highlighted), scratchpad, written answer, time used and flags; beside it the human decision
// panel: AI suggestions and human scores kept apart, per-dimension overrides with a required
// comment, advance / hold / reject, every reviewer's recommendation and a printable report.
//
// Times: transcript words, flags and recordings share the interview's media clock. A word
// belongs to the recording whose [media_start_s, media_start_s + duration_s] holds its start;
// its place in that file is start_s - media_start_s.

import { h, replace, clear, nextId, showError } from '../common/dom.js';
import { API, ApiError, session } from '../staff/api.js';
import { card, statusBadge, errorBanner, errorText, fmtDate } from '../staff/ui.js';
import { t, pick, getLang } from '../staff/i18n.js';
import { mediaTime, evidenceList, modeBadge, answeredAs } from './liveview.js';
import { personalInfo, personalisedNote, developmentBlock } from '../staff/reportparts.js';

const RECOMMENDATIONS = ['advance', 'hold', 'reject'];
/** A word starting this close outside a recording still plays from that recording's edge. */
export const EDGE_TOLERANCE_S = 0.5;
/** The highlighted word stays lit this long past its end (short gaps between words). */
const HIGHLIGHT_HOLD_S = 0.35;

const enc = encodeURIComponent;
const CJK = /[\u3000-\u9fff\uff00-\uffef]/;
const isNum = (x) => x !== null && x !== undefined && x !== '' && Number.isFinite(Number(x));
const fmt1 = (x) => (isNum(x) ? (Math.round(Number(x) * 10) / 10).toFixed(1) : t('ex.none'));

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
function lastStartingBefore(words, x) {
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

// ---------------- view ----------------

export function renderReviewView(main, ctx, interviewId) {
  const model = { detail: null, report: null, reportError: null, loading: true };
  const drafts = new Map(); // form key -> {field: value}
  const notices = new Map(); // form key -> text shown once after a save
  const videos = new Map(); // "answer:rec" -> <video> (kept across re-renders)
  const wordIndex = new Map(); // "answer:rec" -> [{start, end, el}] sorted by start
  const highlighted = new Map(); // "answer:rec" -> span
  let printShown = false;

  const banner = h('div', { hidden: true });
  const title = h('h1', { tabindex: '-1', text: t('common.loading'), testid: 'review-title' });
  const subline = h('p', { class: 'muted small live-sub' });
  const modeHolder = h('span', { class: 'mode-holder' });
  const statusHolder = h('span', { testid: 'review-status' });
  const liveLink = h('a', { class: 'btn ghost', href: `#/interviews/${enc(interviewId)}`, testid: 'review-live-link' });
  const listLink = h('a', { class: 'btn ghost', href: '#/jobs', testid: 'review-back' });
  const reportLink = h('a', { class: 'btn', href: '#', testid: 'report-link', target: '_blank', rel: 'noopener' });
  const reportNote = h('div', { hidden: true });
  const aiNote = h('div', { class: 'ai-note', role: 'note', testid: 'ai-note' });
  const answersBox = h('div', { class: 'rv-answers', testid: 'review-answers' });
  const panelBox = h('aside', { class: 'rv-side' });
  const printBox = h('section', {
    class: 'rv-print card',
    testid: 'print-report',
    hidden: true,
    'aria-labelledby': 'rv-print-title',
  });

  replace(
    main,
    h(
      'div',
      { class: 'page-head live-head' },
      h('div', { class: 'live-title' }, title, modeHolder, subline),
      h('div', { class: 'page-actions' }, statusHolder, reportLink, liveLink, listLink),
    ),
    banner,
    reportNote,
    aiNote,
    h('div', { class: 'rv-grid', testid: 'review-view', dataset: { interviewId } }, answersBox, panelBox),
    printBox,
  );

  const status = () => (model.report && model.report.status) || (model.detail && model.detail.status) || '';
  /** Personalised or not: the answer's own fields, else the report's answer of that index. */
  const personalOf = (answer) => {
    const fromReport = ((model.report && model.report.answers) || []).find(
      (a) => Number(a.index) === Number(answer.index),
    );
    return personalInfo(answer, fromReport ? personalInfo(fromReport) : null);
  };
  const mode = () => (model.detail && model.detail.mode) || (model.report && model.report.mode) || null;

  // ---------------- header ----------------
  function drawHeader() {
    liveLink.textContent = t('ex.rv.toLive');
    listLink.textContent = t('ex.view.back');
    reportLink.textContent = t('ex.rv.report');
    reportLink.href = `/api/interviews/${enc(interviewId)}/report?format=html&lang=${getLang()}`;
    reportLink.hidden = !!model.reportError;
    replace(aiNote, h('strong', { text: t('ex.ai.title') }), ' ', h('span', { text: t('ex.ai.body') }));
    const d = model.detail;
    if (!d) return;
    const name = d.name || (d.candidate && d.candidate.name) || interviewId;
    title.textContent = t('ex.rv.heading', { name });
    document.title = `${name} · ${t('ex.rv.title')} · ${t('ex.title')}`;
    subline.textContent = [
      d.email || (d.candidate && d.candidate.email),
      d.job_title || (model.report && model.report.job && model.report.job.title),
    ]
      .filter(Boolean)
      .join(' · ');
    if (d.job_id) listLink.href = `#/jobs/${enc(d.job_id)}`;
    replace(statusHolder, statusBadge(status()));
    replace(modeHolder, modeBadge(mode()));
  }

  // ---------------- answers ----------------
  function seekAndPlay(ai, k, offset) {
    const v = videos.get(`${ai}:${k}`);
    if (!v) return;
    for (const other of videos.values()) if (other !== v && !other.paused) other.pause();
    const target = Math.max(0, offset);
    const go = () => {
      v.currentTime = target;
      const p = v.play();
      if (p && typeof p.catch === 'function') p.catch(() => {});
    };
    if (v.readyState >= 1) go();
    else v.addEventListener('loadedmetadata', go, { once: true });
    highlightAt(ai, k, target);
    if (v.getBoundingClientRect().bottom < 0 || v.getBoundingClientRect().top > window.innerHeight) {
      v.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    }
  }

  /** Seek to media time `s` inside answer `ai` (a flag, a segment). */
  function seekMedia(answer, s) {
    const k = recordingIndexFor(answer.recordings, s);
    if (k < 0) return false;
    seekAndPlay(answer.index, k, s - Number(answer.recordings[k].media_start_s));
    return true;
  }

  function highlightAt(ai, k, fileTime) {
    const key = `${ai}:${k}`;
    const words = wordIndex.get(key) || [];
    const answer = (model.detail.answers || []).find((a) => a.index === ai);
    const rec = answer && answer.recordings[k];
    const prev = highlighted.get(key);
    let next = null;
    if (rec && words.length) {
      const mt = Number(rec.media_start_s) + fileTime;
      const i = lastStartingBefore(words, mt + 0.02);
      if (i >= 0 && mt <= words[i].end + HIGHLIGHT_HOLD_S) next = words[i].el;
    }
    if (prev === next) return;
    if (prev) {
      prev.classList.remove('current');
      prev.removeAttribute('aria-current');
    }
    if (next) {
      next.classList.add('current');
      next.setAttribute('aria-current', 'true');
      keepVisible(next);
      highlighted.set(key, next);
    } else {
      highlighted.delete(key);
    }
  }

  function keepVisible(el) {
    const box = el.closest('.rv-transcript');
    if (!box || box.scrollHeight <= box.clientHeight) return;
    const top = el.offsetTop - box.offsetTop;
    if (top < box.scrollTop || top + el.offsetHeight > box.scrollTop + box.clientHeight) {
      box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    }
  }

  function videoFor(answer, k, url) {
    const key = `${answer.index}:${k}`;
    let v = videos.get(key);
    if (v && v.dataset.url === url) return v;
    // An audio-only interview has no picture: a player without the black video box.
    v = h(mode() === 'audio' ? 'audio' : 'video', {
      controls: true,
      preload: 'metadata',
      playsinline: true,
      src: url,
      class: 'rv-video',
      testid: `review-video-${answer.index}`,
      dataset: {
        url,
        rec: String(k),
        mediaStartS: String(answer.recordings[k] ? answer.recordings[k].media_start_s : ''),
      },
    });
    const onTime = () => highlightAt(answer.index, k, v.currentTime);
    v.addEventListener('timeupdate', onTime);
    v.addEventListener('seeked', onTime);
    videos.set(key, v);
    return v;
  }

  function wordsOf(answer) {
    const out = [];
    for (const seg of answer.transcript_segments || []) {
      const words =
        Array.isArray(seg.words) && seg.words.length
          ? seg.words
          : [{ text: seg.text, start_s: seg.start_s, end_s: seg.end_s }];
      out.push({ seg, words });
    }
    return out;
  }

  function transcriptEl(answer) {
    const segs = wordsOf(answer);
    const tr = model.detail && model.detail.transcription;
    if (!segs.length && tr && tr.available === false) {
      return h('p', {
        class: 'muted',
        testid: 'review-transcription-unavailable',
        text: t('ex.tr.unavailable', { lang: t(`lang.${tr.language}`, {}, tr.language) }),
      });
    }
    if (!segs.length) return h('p', { class: 'muted', testid: 'review-no-transcript', text: t('ex.rv.noTranscript') });
    const perRec = new Map();
    const lines = segs.map(({ seg, words }) => {
      const spans = [];
      let prevText = '';
      for (const w of words) {
        const text = String(w.text || '').trim();
        if (!text) continue;
        const start = Number(w.start_s);
        const k = isNum(w.start_s) ? recordingIndexFor(answer.recordings, start) : -1;
        const offset = k >= 0 ? start - Number(answer.recordings[k].media_start_s) : null;
        const playable = k >= 0 && videos.has(`${answer.index}:${k}`);
        if (prevText && !(CJK.test(prevText.slice(-1)) && CJK.test(text[0]))) spans.push(' ');
        prevText = text;
        const span = h('span', {
          class: `rv-word${playable ? '' : ' nomedia'}`,
          text,
          testid: playable ? 'review-word' : null,
          title: playable ? t('ex.rv.wordTitle', { time: mediaTime(offset) }) : t('ex.rv.noMedia'),
          dataset: {
            startS: isNum(w.start_s) ? String(start) : '',
            endS: isNum(w.end_s) ? String(w.end_s) : '',
            rec: k >= 0 ? String(k) : '',
            offsetS: offset === null ? '' : String(Math.round(offset * 1000) / 1000),
          },
        });
        if (playable) {
          span.addEventListener('click', () => seekAndPlay(answer.index, k, offset));
          const list = perRec.get(k) || [];
          list.push({ start, end: isNum(w.end_s) ? Number(w.end_s) : start, el: span });
          perRec.set(k, list);
        }
        spans.push(span);
      }
      const k0 = isNum(seg.start_s) ? recordingIndexFor(answer.recordings, Number(seg.start_s)) : -1;
      const canSeek = k0 >= 0 && videos.has(`${answer.index}:${k0}`);
      // Shown as a position in the recording (what the video's own timeline says).
      const timeLabel = canSeek
        ? mediaTime(Math.max(0, Number(seg.start_s) - Number(answer.recordings[k0].media_start_s)))
        : mediaTime(seg.start_s);
      const timeBtn = canSeek
        ? h('button', {
            type: 'button',
            class: 'rv-seg-time',
            text: timeLabel,
            'aria-label': t('ex.rv.segPlay', { time: timeLabel }),
          })
        : h('span', { class: 'rv-seg-time', text: timeLabel });
      if (canSeek) timeBtn.addEventListener('click', () => seekMedia(answer, Number(seg.start_s)));
      return h(
        'p',
        { class: 'rv-seg' },
        timeBtn,
        h('span', { class: 'rv-words', lang: CJK.test(seg.text || '') ? 'zh-CN' : null }, spans),
      );
    });
    for (const [k, list] of perRec) {
      list.sort((a, b) => a.start - b.start);
      wordIndex.set(`${answer.index}:${k}`, list);
    }
    const language = answer.language
      ? h('p', {
          class: 'muted small',
          testid: `review-language-${answer.index}`,
          text: t('ex.rv.lang', { lang: t(`lang.${answer.language}`, {}, answer.language) }),
        })
      : null;
    return h('div', { class: 'rv-transcript', testid: `review-transcript-${answer.index}` }, language, ...lines);
  }

  function flagItem(answer, f) {
    const k = answer && isNum(f.start_s) ? recordingIndexFor(answer.recordings, Number(f.start_s)) : -1;
    const canSeek = k >= 0 && videos.has(`${answer.index}:${k}`);
    // A position in the recording when the flag falls inside one, else media time.
    const shift = canSeek ? Number(answer.recordings[k].media_start_s) : 0;
    const at = (x) => mediaTime(Math.max(0, Number(x) - shift));
    const span = `${at(f.start_s)}–${isNum(f.end_s) ? at(f.end_s) : t('ex.fl.open')}`;
    const timeEl = canSeek
      ? h('button', {
          type: 'button',
          class: 'rv-seg-time',
          text: span,
          'aria-label': t('ex.rv.segPlay', { time: at(f.start_s) }),
        })
      : h('span', { class: 'ev-time', text: span });
    if (canSeek) timeEl.addEventListener('click', () => seekMedia(answer, Number(f.start_s)));
    return h(
      'li',
      { class: `rv-flag fl-${f.type}`, testid: 'review-flag', dataset: { flag: f.type } },
      h(
        'div',
        { class: 'rv-flag-top' },
        h('span', { class: 'rv-flag-dot', 'aria-hidden': 'true' }),
        h('strong', { text: t(`flag.${f.type}`, {}, f.type) }),
        timeEl,
      ),
      (f.evidence || []).length
        ? evidenceList(f.evidence, 'review-flag-evidence')
        : h('p', { class: 'muted small', text: t('ex.fl.noEvidence') }),
    );
  }

  function answerEl(answer, flags) {
    const answered = answeredAs(mode(), answer.media);
    const urls = Array.isArray(answer.recording_urls) ? answer.recording_urls : null;
    const recs = answer.recordings || [];
    let media;
    if (urls && urls.length) {
      media = h(
        'div',
        { class: 'rv-videos' },
        urls.map((url, k) => {
          const rec = recs[k] || {};
          return h(
            'figure',
            { class: 'rv-figure' },
            videoFor(answer, k, url),
            h(
              'figcaption',
              { class: 'muted small' },
              urls.length > 1 ? h('strong', { text: `${t('ex.rv.recording', { n: k + 1 })} · ` }) : null,
              isNum(rec.media_start_s)
                ? t('ex.rv.recStarts', { start: mediaTime(rec.media_start_s), dur: mediaTime(rec.duration_s) })
                : '',
            ),
          );
        }),
      );
    } else if (recs.length && !urls) {
      media = h('p', { class: 'muted small rv-novideo', text: t('ex.rv.noVideoRole') });
    } else {
      media = h('p', {
        class: 'muted small rv-novideo',
        text: t(mode() === 'text' ? 'ex.rv.noRecording.text' : 'ex.rv.noRecording'),
      });
    }
    const endReason = answer.end_reason ? t(`end.${answer.end_reason}`, {}, answer.end_reason) : null;
    const facts = h(
      'dl',
      { class: 'rv-facts' },
      h(
        'div',
        {},
        h('dt', { text: t('ex.rv.timeUsed') }),
        h('dd', {
          testid: `review-time-used-${answer.index}`,
          text: isNum(answer.answer_used_s) ? t('ex.rv.seconds', { s: fmt1(answer.answer_used_s) }) : t('ex.none'),
        }),
      ),
      endReason ? h('div', {}, h('dt', { text: t('ex.rv.endReason') }), h('dd', { text: endReason })) : null,
    );
    const textBlock = (label, value, testid) =>
      h(
        'div',
        { class: 'rv-text' },
        h('h3', { class: 'rv-sub', text: label }),
        value
          ? h('pre', { class: 'rv-pre', testid, text: value })
          : h('p', { class: 'muted small', testid, text: t('ex.rv.empty') }),
      );
    return h(
      'section',
      { class: 'card rv-answer', testid: `review-answer-${answer.index}`, dataset: { index: String(answer.index) } },
      h(
        'div',
        { class: 'rv-q' },
        h(
          'div',
          { class: 'q-line' },
          h('span', { class: 'q-no', text: t('ex.rv.q', { n: answer.index + 1 }) }),
          answer.section ? h('span', { class: 'badge', text: t(`section.${answer.section}`) }) : null,
          answered ? h('span', { class: `badge media media-${answered}`, text: t(`media.${answered}`) }) : null,
        ),
        h('h2', { class: 'rv-qtext', text: pick(answer.question) }),
        personalisedNote(personalOf(answer), { testid: `review-personalised-${answer.index}` }),
      ),
      media,
      mode() === 'text' ? null : h('h3', { class: 'rv-sub', text: t('ex.rv.transcript') }),
      mode() === 'text' ? null : transcriptEl(answer), // a written interview has nothing spoken
      h(
        'div',
        { class: 'rv-cols' },
        textBlock(t('ex.rv.scratchpad'), answer.scratchpad, `review-scratchpad-${answer.index}`),
        answered === 'text' || answer.text_answer
          ? textBlock(t('ex.rv.textAnswer'), answer.text_answer, `review-text-answer-${answer.index}`)
          : null,
      ),
      facts,
      h('h3', { class: 'rv-sub', text: t('ex.rv.flags') }),
      flags.length
        ? h(
            'ul',
            { class: 'rv-flags', testid: `review-flags-${answer.index}` },
            flags.map((f) => flagItem(answer, f)),
          )
        : h('p', { class: 'muted small', testid: `review-flags-${answer.index}`, text: t('ex.rv.noFlags') }),
    );
  }

  function drawAnswers() {
    wordIndex.clear();
    highlighted.clear();
    const d = model.detail;
    if (!d) {
      replace(answersBox, model.loading ? h('p', { class: 'card muted', text: t('common.loading') }) : null);
      return;
    }
    const answers = d.answers || [];
    const flags = d.flags || [];
    const byQ = (i) =>
      flags.filter(
        (f) => Number(f.question_index) === i && f.question_index !== null && f.question_index !== undefined,
      );
    const orphan = flags.filter(
      (f) =>
        f.question_index === null ||
        f.question_index === undefined ||
        !answers.some((a) => a.index === Number(f.question_index)),
    );
    const errs = (d.analyzer_errors || []).length;
    replace(
      answersBox,
      errs ? h('div', { class: 'banner error', role: 'status', text: t('ex.rv.analyzerErrors', { n: errs }) }) : null,
      answers.length
        ? answers.map((a) => answerEl(a, byQ(a.index)))
        : h('p', { class: 'card muted', testid: 'review-no-answers', text: t('ex.rv.noAnswers') }),
      orphan.length
        ? card(
            { title: t('ex.rv.otherFlags'), class: 'rv-answer' },
            h(
              'ul',
              { class: 'rv-flags' },
              orphan.map((f) => flagItem(null, f)),
            ),
          )
        : null,
    );
    // Words of a video that is already playing light up again at once.
    for (const [key, v] of videos) {
      const [ai, k] = key.split(':').map(Number);
      if (v.isConnected && (v.currentTime > 0 || !v.paused)) highlightAt(ai, k, v.currentTime);
    }
  }

  // ---------------- decision panel ----------------
  function draft(key) {
    if (!drafts.has(key)) drafts.set(key, {});
    return drafts.get(key);
  }

  function fieldBox(label, input, key, name, prefix) {
    input.id = input.id || nextId('rv');
    const err = h('p', {
      class: 'field-error',
      role: 'alert',
      hidden: true,
      id: `${input.id}-err`,
      testid: `${prefix}-error-${name}`,
    });
    input.setAttribute('aria-describedby', err.id);
    input.addEventListener('input', () => {
      draft(key)[name] = input.value;
    });
    return { wrap: h('div', { class: 'field' }, h('label', { for: input.id, text: label }), input, err), err };
  }

  /** Show a 422's per-field rows next to their fields; anything else in `general`. */
  function showApiErrors(e, fields, general, messages) {
    for (const f of Object.values(fields)) showError(f.err, []);
    showError(general, []);
    const rows = e instanceof ApiError ? e.errors : [];
    let placed = false;
    for (const row of rows) {
      const f = fields[row.field];
      if (!f) continue;
      showError(f.err, messages[row.field] || row.message);
      f.err.previousElementSibling.setAttribute('aria-invalid', 'true');
      placed = true;
    }
    if (!placed) showError(general, errorText(e, { 409: t('ex.rv.decisionOnlyCompleted') }));
  }

  /**
   * A form of the decision panel (a score override, the decision) that saves through `send()`:
   * its error line, its "saved" note (kept over the panel's redraw), its submit button, and a
   * 422's rows next to `fields` (with each field's own message from `messages`).
   */
  function panelForm(key, prefix, { attrs, button, children, fields, messages, send }) {
    const general = h('p', { class: 'form-error', role: 'alert', hidden: true, testid: `${prefix}-error` });
    const ok = h('p', {
      class: 'ok-text small',
      role: 'status',
      testid: `${prefix}-saved`,
      hidden: !notices.has(key),
      text: notices.get(key) || '',
    });
    notices.delete(key);
    const submit = h('button', { type: 'submit', class: button.class, testid: `${prefix}-submit`, ...button });
    const form = h(
      'form',
      { class: attrs.class, novalidate: true, testid: `${prefix}-form`, ...attrs },
      children,
      general,
      h('div', { class: 'form-actions left' }, submit, ok),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (submit.disabled) return;
      submit.disabled = true;
      ok.hidden = true;
      for (const f of Object.values(fields)) f.err.previousElementSibling.removeAttribute('aria-invalid');
      try {
        const report = await send();
        if (!ctx.alive) return;
        drafts.delete(key);
        notices.set(key, t('ex.rv.saved'));
        model.report = report;
        drawPanel();
      } catch (e) {
        if (!ctx.alive) return;
        showApiErrors(e, fields, general, messages);
        submit.disabled = false;
      }
    });
    return form;
  }

  function overrideForm(dim) {
    const key = `override-${dim.dimension}`;
    const saved = draft(key);
    const value = h('input', {
      type: 'number',
      min: '0',
      max: '10',
      step: '0.1',
      inputmode: 'decimal',
      testid: 'override-value',
      class: 'rv-value-input',
    });
    const comment = h('textarea', { rows: '2', maxlength: '2000', testid: 'override-comment' });
    value.value = saved.value || '';
    comment.value = saved.comment || '';
    const fv = fieldBox(t('ex.rv.value'), value, key, 'value', 'override');
    const fc = fieldBox(t('ex.rv.comment'), comment, key, 'comment', 'override');
    return panelForm(key, 'override', {
      attrs: { class: 'rv-override', dataset: { dimension: dim.dimension } },
      button: { class: 'btn primary small', text: t('ex.rv.save') },
      children: [
        h('p', { class: 'rv-label', text: t('ex.rv.override') }),
        h('div', { class: 'rv-override-fields' }, fv.wrap, fc.wrap),
      ],
      fields: { value: fv, comment: fc },
      messages: { value: t('ex.rv.err.value'), comment: t('ex.rv.err.comment') },
      send: () => {
        const raw = value.value.trim();
        return ReviewAPI.review(interviewId, {
          dimension: dim.dimension,
          value: raw === '' || !isNum(raw) ? null : Number(raw),
          comment: comment.value,
        });
      },
    });
  }

  function dimensionEl(dim) {
    const name = pick(dim.name) || dim.dimension;
    const hasAi = isNum(dim.ai_value);
    const ev = Array.isArray(dim.ai_evidence) ? dim.ai_evidence : [];
    const aiBox = h(
      'div',
      { class: 'rv-ai', testid: `ai-suggestion-${dim.dimension}` },
      h(
        'div',
        { class: 'rv-box-head' },
        h('span', { class: 'badge ai', text: t('ex.rv.ai') }),
        h('span', {
          class: 'rv-num',
          testid: 'ai-value',
          text: hasAi ? `${fmt1(dim.ai_value)}${t('ex.sc.of10')}` : t('ex.none'),
        }),
      ),
      hasAi
        ? h('p', { class: 'sc-reason', text: pick(dim.ai_reason) })
        : h('p', { class: 'muted small', text: t('ex.rv.aiNone') }),
      ev.length
        ? h(
            'details',
            { class: 'sc-details' },
            h('summary', { text: t('ex.sc.evidence', { n: ev.length }) }),
            evidenceList(ev, `ai-evidence-${dim.dimension}`),
          )
        : null,
    );
    const human = Array.isArray(dim.human) ? dim.human : [];
    const me = (session.get() && session.get().user && session.get().user.username) || '';
    const humanBox = h(
      'div',
      { class: 'rv-human', testid: `human-scores-${dim.dimension}` },
      h('div', { class: 'rv-box-head' }, h('span', { class: 'badge human', text: t('ex.rv.human') })),
      human.length
        ? h(
            'ul',
            { class: 'rv-human-list' },
            human.map((r) =>
              h(
                'li',
                { testid: 'human-score', dataset: { reviewer: r.reviewer || '' } },
                h(
                  'div',
                  { class: 'rv-human-top' },
                  h('strong', { text: `${r.reviewer || '?'}${r.reviewer && r.reviewer === me ? t('ex.rv.you') : ''}` }),
                  h('span', { class: 'rv-num', testid: 'human-value', text: `${fmt1(r.value)}${t('ex.sc.of10')}` }),
                ),
                r.comment ? h('p', { class: 'rv-comment', text: r.comment }) : null,
                r.at ? h('p', { class: 'muted small', text: fmtDate(r.at) }) : null,
              ),
            ),
          )
        : h('p', { class: 'muted small', text: t('ex.rv.humanNone') }),
    );
    const source = dim.source || 'none';
    const final = h(
      'p',
      { class: `rv-final src-${source}`, testid: `final-value-${dim.dimension}`, dataset: { source } },
      h('span', { text: t('ex.rv.final') }),
      h('strong', { text: isNum(dim.final_value) ? `${fmt1(dim.final_value)}${t('ex.sc.of10')}` : t('ex.none') }),
      h('span', { class: 'muted small', text: t(`ex.rv.source.${source}`, {}, source) }),
    );
    return h(
      'div',
      { class: 'rv-dim', testid: `review-dim-${dim.dimension}`, dataset: { dimension: dim.dimension } },
      h(
        'div',
        { class: 'rv-dim-head' },
        h('h3', { class: 'rv-dim-name', text: name }),
        h('span', {
          class: 'muted small',
          text: t('ex.rv.weight', { w: `${Math.round(Number(dim.weight || 0) * 100)}%` }),
        }),
      ),
      h('div', { class: 'rv-compare' }, aiBox, humanBox),
      final,
      overrideForm(dim),
    );
  }

  function decisionForm() {
    const key = 'decision';
    const saved = draft(key);
    const completed = status() === 'completed';
    const select = h(
      'select',
      { testid: 'decision-select', disabled: !completed },
      h('option', { value: '', text: t('ex.rv.recChoose') }),
      RECOMMENDATIONS.map((r) => h('option', { value: r, text: t(`ex.rv.rec.${r}`) })),
    );
    const me = (session.get() && session.get().user && session.get().user.username) || '';
    const mine = ((model.report && model.report.decisions) || []).find((d) => d.reviewer === me);
    select.value = saved.recommendation ?? (mine ? mine.recommendation : '');
    const comment = h('textarea', { rows: '2', maxlength: '2000', testid: 'decision-comment', disabled: !completed });
    comment.value = saved.comment ?? (mine ? mine.comment || '' : '');
    const fs = fieldBox(t('ex.rv.recommendation'), select, key, 'recommendation', 'decision');
    select.addEventListener('change', () => {
      draft(key).recommendation = select.value;
    });
    const fc = fieldBox(t('ex.rv.decisionComment'), comment, key, 'comment', 'decision');
    return panelForm(key, 'decision', {
      attrs: { class: 'rv-decision' },
      button: { class: 'btn primary', disabled: !completed, text: t('ex.rv.decide') },
      children: [
        completed
          ? null
          : h('p', {
              class: 'banner',
              role: 'note',
              testid: 'decision-disabled',
              text: t('ex.rv.decisionOnlyCompleted'),
            }),
        fs.wrap,
        fc.wrap,
      ],
      fields: { recommendation: fs, comment: fc },
      messages: { recommendation: t('ex.rv.err.recommendation'), comment: t('ex.rv.err.commentLong') },
      send: () => ReviewAPI.decision(interviewId, { recommendation: select.value || null, comment: comment.value }),
    });
  }

  function decisionsList(decisions) {
    if (!decisions.length)
      return h('p', { class: 'muted small', testid: 'decisions-list', text: t('ex.rv.decisionsNone') });
    const me = (session.get() && session.get().user && session.get().user.username) || '';
    return h(
      'ul',
      { class: 'rv-decisions', testid: 'decisions-list' },
      decisions.map((d) =>
        h(
          'li',
          { testid: 'decision-item', dataset: { reviewer: d.reviewer || '', recommendation: d.recommendation || '' } },
          h(
            'div',
            { class: 'rv-human-top' },
            h('strong', { text: `${d.reviewer || '?'}${d.reviewer && d.reviewer === me ? t('ex.rv.you') : ''}` }),
            h('span', {
              class: `badge rec rec-${d.recommendation}`,
              text: t(`ex.rv.rec.${d.recommendation}`, {}, d.recommendation),
            }),
          ),
          d.comment ? h('p', { class: 'rv-comment', text: d.comment }) : null,
          d.created_at ? h('p', { class: 'muted small', text: fmtDate(d.created_at) }) : null,
        ),
      ),
    );
  }

  function plainList(items, testid) {
    return items.length
      ? h(
          'ul',
          { class: 'rv-plain', testid },
          items.map((s) => h('li', { text: pick(s) })),
        )
      : h('p', { class: 'muted small', testid, text: t('ex.rv.none') });
  }

  function drawPanel() {
    const r = model.report;
    if (model.reportError) {
      const e = model.reportError;
      replace(
        panelBox,
        card(
          { title: t('ex.rv.panel'), class: 'rv-panel', testid: 'decision-panel' },
          h('p', {
            class: 'muted',
            testid: 'panel-error',
            text: errorText(e, { 403: t('ex.rv.noScoresRole') }),
          }),
        ),
      );
      return;
    }
    if (!r) {
      replace(
        panelBox,
        h('section', { class: 'card rv-panel' }, h('p', { class: 'muted', text: t('common.loading') })),
      );
      return;
    }
    const match = isNum(r.job_match_percent) ? `${fmt1(r.job_match_percent)}%` : t('ex.rv.jobMatchNone');
    const flags = Array.isArray(r.flags) ? r.flags : [];
    replace(
      panelBox,
      h(
        'section',
        { class: 'card rv-panel', testid: 'decision-panel' },
        h('div', { class: 'card-head' }, h('h2', { class: 'card-title', text: t('ex.rv.panel') })),
        h(
          'div',
          { class: 'rv-match' },
          h('span', { class: 'rv-match-label', text: t('ex.rv.jobMatch') }),
          h('strong', {
            class: 'rv-match-value',
            testid: 'job-match',
            dataset: { value: isNum(r.job_match_percent) ? String(r.job_match_percent) : '' },
            text: match,
          }),
          h('span', {
            class: 'muted small',
            text: [
              isNum(r.overall_ai) ? t('ex.rv.overallAi', { v: fmt1(r.overall_ai) }) : null,
              isNum(r.overall_final) ? t('ex.rv.overallFinal', { v: fmt1(r.overall_final) }) : null,
            ]
              .filter(Boolean)
              .join(' · '),
          }),
          h('p', { class: 'muted small rv-match-note', text: t('ex.rv.matchNote') }),
        ),
        h(
          'div',
          { class: 'rv-sw' },
          h(
            'div',
            {},
            h('h3', { class: 'rv-sub', text: t('ex.rv.strengths') }),
            plainList(r.strengths || [], 'strengths'),
          ),
          h(
            'div',
            {},
            h('h3', { class: 'rv-sub', text: t('ex.rv.weaknesses') }),
            plainList(r.weaknesses || [], 'weaknesses'),
          ),
        ),
        developmentBlock(r.development, { testid: 'development' }),
        flags.length
          ? h(
              'div',
              {},
              h('h3', { class: 'rv-sub', text: t('ex.rv.reportFlags') }),
              h(
                'ul',
                { class: 'rv-plain', testid: 'flags-summary' },
                flags.map((f) =>
                  h(
                    'li',
                    {},
                    h('strong', { text: t(`flag.${f.type}`, {}, f.type) }),
                    ' ',
                    t('ex.rv.flagCount', { n: f.count, s: fmt1(f.total_s) }),
                  ),
                ),
              ),
            )
          : null,
      ),
      card(
        { title: t('ex.rv.dims'), class: 'rv-panel', testid: 'dimensions' },
        h('p', { class: 'ai-inline small', text: t('ex.rv.dimsNote') }),
        (r.dimensions || []).map(dimensionEl),
      ),
      card(
        { title: t('ex.rv.decision'), class: 'rv-panel', testid: 'decision-section' },
        decisionForm(),
        h('h3', { class: 'rv-sub', text: t('ex.rv.decisions') }),
        decisionsList(Array.isArray(r.decisions) ? r.decisions : []),
      ),
    );
    if (printShown) drawPrint();
  }

  // ---------------- printable report ----------------
  function drawPrint() {
    const r = model.report;
    if (!r) return;
    const cand = r.candidate || {};
    const job = r.job || {};
    const heads = ['dimension', 'weight', 'ai', 'human', 'final', 'why'].map((k) =>
      h('th', { scope: 'col', text: t(`ex.rv.pr.${k}`) }),
    );
    const li = (items, fn) => (items.length ? items.map(fn) : [h('li', { text: t('ex.none') })]);
    const printBtn = h('button', {
      type: 'button',
      class: 'btn primary',
      testid: 'print-button',
      text: t('ex.rv.print'),
    });
    printBtn.addEventListener('click', () => window.print());
    const closeBtn = h('button', { type: 'button', class: 'btn ghost', text: t('ex.rv.closePrint') });
    closeBtn.addEventListener('click', () => {
      printShown = false;
      printBox.hidden = true;
      document.body.classList.remove('rv-print-mode');
    });
    replace(
      printBox,
      h('div', { class: 'rv-print-actions' }, printBtn, closeBtn),
      h('h2', { id: 'rv-print-title', class: 'rv-print-h1', text: t('ex.rv.pr.title') }),
      h('p', {
        text: [cand.name, cand.email, job.title && `${job.title}${job.department ? ` (${job.department})` : ''}`]
          .filter(Boolean)
          .join(' · '),
      }),
      modeBadge(r.mode || mode()),
      h(
        'p',
        { class: 'rv-print-match' },
        `${t('ex.rv.jobMatch')}: `,
        h('strong', { text: isNum(r.job_match_percent) ? `${fmt1(r.job_match_percent)}%` : t('ex.none') }),
      ),
      r.note ? h('p', { class: 'ai-note', text: pick(r.note) }) : null,
      h('h3', { text: t('ex.rv.dims') }),
      h(
        'table',
        { class: 'table rv-print-table' },
        h('thead', {}, h('tr', {}, heads)),
        h(
          'tbody',
          {},
          (r.dimensions || []).map((d) =>
            h(
              'tr',
              {},
              h('td', { text: pick(d.name) || d.dimension }),
              h('td', { text: Number(d.weight || 0).toFixed(2) }),
              h('td', { text: isNum(d.ai_value) ? fmt1(d.ai_value) : t('ex.none') }),
              h('td', {
                text:
                  (d.human || [])
                    .map((x) => `${x.reviewer}: ${fmt1(x.value)}${x.comment ? ` (${x.comment})` : ''}`)
                    .join('; ') || t('ex.none'),
              }),
              h('td', {}, h('strong', { text: isNum(d.final_value) ? fmt1(d.final_value) : t('ex.none') })),
              h('td', { text: pick(d.ai_reason) }),
            ),
          ),
        ),
      ),
      h('h3', { text: t('ex.rv.strengths') }),
      h(
        'ul',
        {},
        li(r.strengths || [], (s) => h('li', { text: pick(s) })),
      ),
      h('h3', { text: t('ex.rv.weaknesses') }),
      h(
        'ul',
        {},
        li(r.weaknesses || [], (s) => h('li', { text: pick(s) })),
      ),
      developmentBlock(r.development, { testid: 'print-development' }),
      h('h3', { text: t('ex.rv.reportFlags') }),
      h(
        'ul',
        {},
        li(r.flags || [], (f) =>
          h('li', {
            text: `${t(`flag.${f.type}`, {}, f.type)}: ${t('ex.rv.flagCount', { n: f.count, s: fmt1(f.total_s) })}`,
          }),
        ),
      ),
      h('h3', { text: t('ex.rv.decisions') }),
      h(
        'ul',
        {},
        li(r.decisions || [], (d) =>
          h(
            'li',
            {},
            `${d.reviewer}: `,
            h('strong', { text: t(`ex.rv.rec.${d.recommendation}`, {}, d.recommendation) }),
            d.comment ? ` — ${d.comment}` : '',
          ),
        ),
      ),
      h('h3', { text: t('ex.rv.answers') }),
      (r.answers || []).map((a) =>
        h(
          'div',
          { class: 'rv-print-answer' },
          h('p', { class: 'strong', text: `${t('ex.rv.q', { n: a.index + 1 })} · ${pick(a.question)}` }),
          personalisedNote(personalInfo(a), { testid: `print-personalised-${a.index}` }),
          a.transcript ? h('p', { text: a.transcript }) : null,
          a.text_answer ? h('pre', { class: 'rv-pre', text: a.text_answer }) : null,
          isNum(a.answer_used_s)
            ? h('p', {
                class: 'muted small',
                text: `${t('ex.rv.timeUsed')}: ${t('ex.rv.seconds', { s: fmt1(a.answer_used_s) })}`,
              })
            : null,
        ),
      ),
    );
  }

  function showPrintSection() {
    printShown = true;
    drawPrint();
    printBox.hidden = false;
    document.body.classList.add('rv-print-mode');
    printBox.scrollIntoView({ block: 'start' });
  }

  // The HTML report needs the bearer token, so it is fetched here and shown from a Blob URL.
  // The window is opened inside the click (popup blockers allow that) and pointed at the blob
  // once it exists; when no window can be opened the report is drawn on this page instead.
  reportLink.addEventListener('click', async (ev) => {
    ev.preventDefault();
    errorBanner(reportNote, null);
    let win = null;
    try {
      win = window.open('', '_blank');
    } catch {
      win = null;
    }
    if (win) {
      try {
        win.document.title = t('ex.rv.reportOpening');
        win.document.body.textContent = t('ex.rv.reportOpening');
      } catch {
        /* cross-origin or closed */
      }
    }
    try {
      const lang = getLang();
      let html = await ReviewAPI.reportHtml(interviewId, lang);
      // A blob document has no usable base URL: make the report's /static/ stylesheet resolve.
      const base = `<base href="${location.origin}/">`;
      html = /<head[^>]*>/i.test(html) ? html.replace(/<head([^>]*)>/i, `<head$1>${base}`) : base + html;
      const url = URL.createObjectURL(new Blob([html], { type: 'text/html;charset=utf-8' }));
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      if (win && !win.closed) {
        win.location.href = url;
        try {
          win.opener = null;
        } catch {
          /* ignore */
        }
      } else {
        showPrintSection();
        const n = h('div', {
          class: 'banner',
          role: 'status',
          testid: 'report-fallback',
          text: t('ex.rv.reportBlocked'),
        });
        reportNote.hidden = false;
        replace(reportNote, n);
      }
    } catch (e) {
      if (win && !win.closed) win.close();
      if (!ctx.alive) return;
      if (model.report) showPrintSection();
      errorBanner(reportNote, e);
    }
  });

  // ---------------- load ----------------
  async function load() {
    model.loading = true;
    const [detail, report] = await Promise.allSettled([API.interview(interviewId), ReviewAPI.report(interviewId)]);
    if (!ctx.alive) return;
    model.loading = false;
    if (detail.status === 'fulfilled') {
      model.detail = detail.value;
      banner.hidden = true;
    } else {
      title.textContent = t('ex.view.notFound');
      errorBanner(banner, detail.reason);
    }
    if (report.status === 'fulfilled') {
      model.report = report.value;
      model.reportError = null;
    } else model.reportError = report.reason;
    drawAll();
    main.querySelector('[data-testid="review-view"]').dataset.loaded = 'true';
  }

  function drawAll() {
    drawHeader();
    drawAnswers();
    drawPanel();
  }

  drawAll();
  load();

  ctx.onLang = () => {
    // Keep what was typed and the videos (they are moved, not recreated, so playback goes on).
    drawAll();
    if (printShown) drawPrint();
  };

  return () => {
    for (const v of videos.values()) {
      try {
        v.pause();
      } catch {
        /* ignore */
      }
    }
    videos.clear();
    document.body.classList.remove('rv-print-mode');
    clear(printBox);
  };
}
