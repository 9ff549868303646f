// Live candidate view (#/interviews/<id>): topic `interview:<id>` on the staff socket.
//
// A snapshot (finals so far, latest scores, merged flags) replaces the model; deltas are the
// analysis events of docs/protocol.md. The model is plain data so a language switch can
// relabel everything; the DOM is updated incrementally and stays bounded (500 finals,
// 300 flags). The current question and timer come from polling GET /api/interviews/{id}.

import { h, replace, clear } from '../common/dom.js';
import { API } from '../staff/api.js';
import { statusBadge, errorBanner, loadCompetencies, competencyName, TERMINAL } from '../staff/ui.js';
import { t, pick, localReason } from '../staff/i18n.js';
import { INTERVIEW_MODES, modeBadge, personalInfo, personalisedNote } from '../staff/reportparts.js';

export const MAX_FINALS = 500;
export const MAX_FLAGS = 300;
const FACE_SAMPLES = 60;
const POLL_MS = 5000;
const FLAG_TYPES = [
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

const countdown = (s) => {
  const v = Math.max(0, Math.ceil(Number(s) || 0));
  return `${String(Math.floor(v / 60)).padStart(2, '0')}:${String(v % 60).padStart(2, '0')}`;
};
const pct = (x) => (x === null || x === undefined ? t('ex.none') : `${Math.round(Number(x) * 100)}%`);
const num = (x, digits = 1) =>
  x === null || x === undefined ? t('ex.none') : (Math.round(Number(x) * 10 ** digits) / 10 ** digits).toFixed(digits);
const qLabel = (qi) => (qi === null || qi === undefined ? '' : t('ex.tr.qshort', { n: Number(qi) + 1 }));
const finalKey = (f) =>
  `${f.question_index ?? ''}|${f.utterance_id ?? ''}|${Math.round(Number(f.start_s || 0) * 1000)}`;
const flagKey = (type, start) => `${type}|${Math.round(Number(start || 0) * 1000)}`;

function timeSpan(start, end) {
  const a = mediaTime(start);
  if (end === null || end === undefined) return a;
  const b = mediaTime(end);
  return a === b ? a : `${a}–${b}`;
}

function evidenceText(ev) {
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

function mediaBadge(mode, media) {
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

export function renderLiveView(main, ctx, interviewId) {
  // ---------------- model ----------------
  const model = {
    status: null,
    detail: null, // last GET /api/interviews/{id}
    finals: [], // bounded, in arrival order
    finalKeys: new Set(),
    partial: null,
    scores: new Map(), // dimension -> {value, reason, evidence, t}
    flags: new Map(), // key -> {type, start_s, end_s, question_index, evidence}
    face: null,
    faceRing: [], // last FACE_SAMPLES sample classes
    delivery: null,
    content: null,
    liveQ: null, // question_index of the latest event that had one
    maxT: 0, // latest media time seen
    countdownAt: 0, // performance.now() of the last poll
  };

  // ---------------- DOM skeleton ----------------
  const banner = h('div', { hidden: true });
  const title = h('h1', { tabindex: '-1', text: t('common.loading'), testid: 'live-title' });
  const back = h('a', { class: 'btn ghost', href: '#/jobs', testid: 'live-back' });
  const reviewLink = h('a', {
    class: 'btn',
    href: `#/interviews/${encodeURIComponent(interviewId)}/review`,
    testid: 'review-link',
  });
  const statusHolder = h('span', { testid: 'live-interview-status' });
  const subline = h('p', { class: 'muted small live-sub' });
  const modeHolder = h('span', { class: 'mode-holder' });
  const qBox = h('div', { class: 'qbox', testid: 'current-question', 'aria-live': 'polite' });
  const clock = h('span', { class: 'clock', testid: 'countdown', role: 'timer' });
  const aiNote = h('div', { class: 'ai-note', role: 'note', testid: 'ai-note' });

  const trList = h('ol', { class: 'tr-list', role: 'log', 'aria-live': 'polite' });
  const trPartial = h('p', { class: 'tr-partial', testid: 'live-partial', hidden: true, 'aria-hidden': 'true' });
  const trEmpty = h('p', { class: 'muted tr-empty' });
  const trTrimmed = h('p', { class: 'muted small', hidden: true });
  const trScroll = h('div', { class: 'tr-scroll' }, trTrimmed, trList, trPartial, trEmpty);
  const trPanel = h('section', { class: 'card panel transcript', testid: 'live-transcript' });

  const scRows = h('div', { class: 'sc-rows' });
  const scEmpty = h('p', { class: 'muted' });
  const scOverall = h('p', { class: 'sc-overall', testid: 'overall', hidden: true });
  const scPanel = h('section', { class: 'card panel scores', testid: 'live-scores' });

  const flLanes = h('div', { class: 'fl-lanes' });
  const flEmpty = h('p', { class: 'muted' });
  const flDetail = h('div', { class: 'fl-detail', testid: 'flag-detail', hidden: true, 'aria-live': 'polite' });
  const flAxis = h('div', { class: 'fl-axis', 'aria-hidden': 'true' });
  const flPanel = h('section', { class: 'card panel flags', testid: 'flags-timeline' });

  const facePanel = h('section', { class: 'card panel face', testid: 'face-strip' });
  const delPanel = h('section', { class: 'card panel delivery', testid: 'delivery' });
  const faceCells = Array.from({ length: FACE_SAMPLES }, () => h('span', { class: 'cell' }));
  const faceNums = {
    faces: h('strong', { testid: 'face-count' }),
    eye: h('strong', { testid: 'eye-contact' }),
    away: h('strong', { testid: 'looking-away' }),
  };
  const connPanel = h('p', { class: 'conn-quality muted', testid: 'connection-quality', 'aria-live': 'off' });
  const delNums = {
    rate: h('strong', { testid: 'speaking-rate' }),
    pause: h('strong'),
    longp: h('strong'),
    fillers: h('strong', { testid: 'fillers' }),
    coverage: h('strong'),
  };

  const laneEls = new Map(); // flag type -> {lane, track}
  const flagEls = new Map(); // key -> button
  const scoreEls = new Map(); // dimension -> {row, ...}

  replace(
    main,
    h(
      'div',
      { class: 'page-head live-head' },
      h('div', { class: 'live-title' }, title, modeHolder, subline),
      h('div', { class: 'page-actions' }, statusHolder, reviewLink, back),
    ),
    banner,
    h('div', { class: 'live-bar card' }, qBox, clock),
    aiNote,
    h(
      'div',
      { class: 'live-grid', testid: 'live-view', dataset: { interviewId } },
      h('div', { class: 'live-main' }, trPanel),
      h('div', { class: 'live-side' }, scPanel, facePanel, delPanel, connPanel),
    ),
    flPanel,
  );

  // ---------------- static labels (re-run on a language switch) ----------------
  const panelHead = (titleKey, aside = null) =>
    h('div', { class: 'card-head' }, h('h2', { class: 'card-title', text: t(titleKey) }), aside);

  function labels() {
    back.textContent = t('ex.view.back');
    reviewLink.textContent = t('ex.rv.open');
    replace(aiNote, h('strong', { text: t('ex.ai.title') }), ' ', h('span', { text: t('ex.ai.body') }));
    replace(trPanel, panelHead('ex.tr.title'), trScroll);
    trEmpty.textContent = t('ex.tr.empty');
    trTrimmed.textContent = t('ex.tr.trimmed', { n: MAX_FINALS });
    replace(
      scPanel,
      panelHead('ex.sc.title', h('span', { class: 'badge ai', text: t('ex.sc.suggestion') })),
      h('p', { class: 'ai-inline small', text: t('ex.ai.body') }),
      scOverall,
      scRows,
      scEmpty,
    );
    scEmpty.textContent = t('ex.sc.empty');
    replace(
      flPanel,
      panelHead('ex.fl.title', h('span', { class: 'muted small', text: t('ex.fl.hint') })),
      flEmpty,
      flLanes,
      flAxis,
      flDetail,
    );
    flEmpty.textContent = t('ex.fl.empty');
    for (const [type, lane] of laneEls) lane.label.textContent = t(`flag.${type}`, {}, type);
    modePanels();
  }

  // ---------------- panels that depend on the interview mode ----------------
  const mode = () => (model.detail ? model.detail.mode : null);
  let panelsMode; // the mode the face/delivery panels were built for

  /** A panel that has nothing to show in this mode says so instead of showing empty numbers. */
  function notApplicable(panel, titleKey, textKey, testid) {
    panel.dataset.applicable = 'false';
    replace(
      panel,
      h('h2', { class: 'card-title', text: t(titleKey) }),
      h('p', { class: 'muted small na', testid, text: t(textKey) }),
    );
  }

  function modePanels() {
    const m = mode();
    panelsMode = m;
    replace(modeHolder, modeBadge(m));
    trEmpty.textContent = hasSpeech(m) ? t('ex.tr.empty') : t('ex.tr.na.text');
    if (hasFace(m)) faceLabels();
    else notApplicable(facePanel, 'ex.face.title', `ex.face.na.${m}`, 'face-na');
    if (hasSpeech(m)) deliveryLabels();
    else notApplicable(delPanel, 'ex.del.title', 'ex.del.na.text', 'delivery-na');
    transcriptionNote();
  }

  /** A panel of labelled numbers (`nums`: [label key, value element]), then `more`. */
  function numbersPanel(panel, titleKey, nums, ...more) {
    panel.dataset.applicable = 'true';
    replace(
      panel,
      h('h2', { class: 'card-title', text: t(titleKey) }),
      h(
        'dl',
        { class: 'nums' },
        nums.map(([key, value]) => h('div', {}, h('dt', { text: t(key) }), h('dd', {}, value))),
      ),
      ...more,
    );
  }

  function faceLabels() {
    numbersPanel(
      facePanel,
      'ex.face.title',
      [
        ['ex.face.faces', faceNums.faces],
        ['ex.face.eye', faceNums.eye],
        ['ex.face.away', faceNums.away],
      ],
      h(
        'div',
        {
          class: 'face-cells',
          role: 'img',
          'aria-label': t('ex.face.strip', { n: FACE_SAMPLES }),
          title: t('ex.face.strip', { n: FACE_SAMPLES }),
        },
        faceCells,
      ),
    );
  }

  function deliveryLabels() {
    numbersPanel(delPanel, 'ex.del.title', [
      ['ex.del.rate', delNums.rate],
      ['ex.del.pause', delNums.pause],
      ['ex.del.long', delNums.longp],
      ['ex.del.fillers', delNums.fillers],
      ['ex.del.coverage', delNums.coverage],
    ]);
  }

  // ---------------- transcript ----------------
  function finalEl(f) {
    // Live finals carry end-to-end timing, for tests and troubleshooting: the ASR latency after
    // the speech ended, when the server sent it and when this page showed it (wall clock).
    const timing = f.shown_at ? { serverTs: f.server_ts ?? '', latencyS: f.latency_s ?? '', shownAt: f.shown_at } : {};
    return h(
      'li',
      { class: 'tr-final', dataset: { q: f.question_index ?? '', key: finalKey(f), ...timing } },
      h(
        'span',
        { class: 'tr-meta' },
        f.question_index !== null && f.question_index !== undefined
          ? h('span', { class: 'tr-q', text: qLabel(f.question_index) })
          : null,
        h('time', {
          class: 'tr-time',
          text: mediaTime(f.start_s),
          title: `${mediaTime(f.start_s)}–${mediaTime(f.end_s)}`,
        }),
      ),
      h('span', {
        class: 'tr-text',
        lang: f.language && String(f.language).startsWith('zh') ? 'zh-CN' : f.language || null,
        text: f.text || '',
      }),
    );
  }

  function trStickToBottom(fn) {
    const atBottom = trScroll.scrollHeight - trScroll.scrollTop - trScroll.clientHeight < 40;
    fn();
    if (atBottom) trScroll.scrollTop = trScroll.scrollHeight;
  }

  function addFinal(f, { render = true } = {}) {
    const key = finalKey(f);
    if (model.finalKeys.has(key)) return;
    model.finalKeys.add(key);
    model.finals.push(f);
    while (model.finals.length > MAX_FINALS) model.finalKeys.delete(finalKey(model.finals.shift()));
    if (model.partial && model.partial.utterance_id === f.utterance_id) model.partial = null;
    if (!render) return;
    f.shown_at = Date.now() / 1000;
    const li = finalEl(f);
    trStickToBottom(() => {
      trList.appendChild(li);
      while (trList.childElementCount > MAX_FINALS) trList.firstElementChild.remove();
      trTrimmed.hidden = model.finals.length < MAX_FINALS;
      drawPartial();
    });
    trEmpty.hidden = true;
  }

  function drawPartial() {
    const p = model.partial;
    if (!p || (!p.stable && !p.unstable)) {
      trPartial.hidden = true;
      clear(trPartial);
      return;
    }
    trPartial.hidden = false;
    replace(
      trPartial,
      h(
        'span',
        { class: 'tr-meta' },
        p.question_index !== null && p.question_index !== undefined
          ? h('span', { class: 'tr-q', text: qLabel(p.question_index) })
          : null,
        h('time', { class: 'tr-time', text: mediaTime(p.start_s) }),
      ),
      h(
        'span',
        { class: 'tr-text' },
        h('span', { class: 'stable', testid: 'partial-stable', text: p.stable ? `${p.stable} ` : '' }),
        h('span', { class: 'unstable', testid: 'partial-unstable', text: p.unstable || '' }),
        h('span', { class: 'tr-dots', text: ` · ${t('ex.tr.partial')}` }),
      ),
    );
  }

  function drawTranscript() {
    replace(trList, model.finals.map(finalEl));
    trTrimmed.hidden = model.finals.length < MAX_FINALS;
    trEmpty.hidden = model.finals.length > 0 || !!model.partial;
    drawPartial();
    trScroll.scrollTop = trScroll.scrollHeight;
  }

  // ---------------- scores ----------------
  function scoreRow(dim) {
    let el = scoreEls.get(dim);
    if (el) return el;
    const name = h('span', { class: 'sc-name' });
    const value = h('span', { class: 'sc-value', testid: `score-value-${dim}` });
    const fill = h('span', { class: 'sc-fill' });
    const bar = h('span', { class: 'sc-bar', 'aria-hidden': 'true' }, fill);
    const reason = h('p', { class: 'sc-reason', testid: `score-reason-${dim}` });
    const summary = h('summary', {});
    const evBox = h('div', { class: 'sc-ev' });
    const details = h('details', { class: 'sc-details' }, summary, evBox);
    const row = h(
      'div',
      { class: 'sc-row', testid: 'score-row', dataset: { dimension: dim } },
      h('div', { class: 'sc-top' }, name, value),
      bar,
      reason,
      details,
    );
    el = { row, name, value, fill, bar, reason, summary, evBox, details };
    scoreEls.set(dim, el);
    scRows.appendChild(row);
    return el;
  }

  function drawScore(dim) {
    const s = model.scores.get(dim);
    if (!s) return;
    const el = scoreRow(dim);
    const v = Math.max(0, Math.min(10, Number(s.value) || 0));
    el.name.textContent = competencyName(dim);
    el.value.textContent = `${num(v)}${t('ex.sc.of10')}`;
    el.fill.style.width = `${v * 10}%`;
    el.fill.dataset.band = v >= 7 ? 'high' : v >= 4 ? 'mid' : 'low';
    el.row.setAttribute('aria-label', `${competencyName(dim)} ${num(v)}/10`);
    el.reason.textContent = localReason(s.reason);
    const evidence = Array.isArray(s.evidence) ? s.evidence : [];
    el.summary.textContent = t('ex.sc.evidence', { n: evidence.length });
    el.details.hidden = evidence.length === 0;
    replace(el.evBox, evidenceList(evidence, `score-evidence-${dim}`));
    el.row.classList.remove('bump');
    void el.row.offsetWidth;
    el.row.classList.add('bump');
  }

  function drawScores() {
    clear(scRows);
    scoreEls.clear();
    for (const dim of model.scores.keys()) drawScore(dim);
    for (const el of scoreEls.values()) el.row.classList.remove('bump');
    scEmpty.hidden = model.scores.size > 0;
    drawOverall();
  }

  function drawOverall() {
    const o = model.detail && model.detail.overall;
    scOverall.hidden = o === null || o === undefined;
    if (!scOverall.hidden) {
      replace(scOverall, h('span', { text: t('ex.sc.overall') }), h('strong', { text: `${num(o)}${t('ex.sc.of10')}` }));
    }
  }

  // ---------------- flags ----------------
  function lane(type) {
    let l = laneEls.get(type);
    if (l) return l;
    const label = h('span', { class: 'fl-label', text: t(`flag.${type}`, {}, type) });
    const track = h('div', { class: 'fl-track' });
    const el = h('div', { class: `fl-lane fl-${type}`, dataset: { flag: type } }, label, track);
    l = { el, label, track };
    laneEls.set(type, l);
    // keep lanes in a fixed order
    const order = (x) => {
      const i = FLAG_TYPES.indexOf(x);
      return i < 0 ? 99 : i;
    };
    const after = [...laneEls.entries()]
      .filter(([k]) => k !== type && order(k) > order(type))
      .map(([, v]) => v.el)
      .find((e) => e.parentNode === flLanes);
    flLanes.insertBefore(el, after || null);
    return l;
  }

  function flagLabel(f) {
    const end = f.end_s === null || f.end_s === undefined ? t('ex.fl.open') : mediaTime(f.end_s);
    return `${t(`flag.${f.type}`, {}, f.type)} · ${mediaTime(f.start_s)}–${end}${f.question_index !== null && f.question_index !== undefined ? ` · ${qLabel(f.question_index)}` : ''}`;
  }

  let shownFlag = null;
  function showFlagDetail(f) {
    shownFlag = flagKey(f.type, f.start_s);
    flDetail.hidden = false;
    replace(
      flDetail,
      h('p', { class: 'strong', text: flagLabel(f) }),
      (f.evidence || []).length
        ? evidenceList(f.evidence, 'flag-evidence')
        : h('p', { class: 'muted small', text: t('ex.fl.noEvidence') }),
    );
  }

  function placeFlag(btn, f) {
    const total = Math.max(model.maxT, 1);
    const start = Math.max(0, Number(f.start_s) || 0);
    const end =
      f.end_s === null || f.end_s === undefined ? Math.max(model.maxT, start) : Math.max(Number(f.end_s), start);
    const left = Math.min(100, (start / total) * 100);
    const width = Math.max(0, Math.min(100 - left, ((end - start) / total) * 100));
    btn.style.left = `${left}%`;
    btn.style.width = `${width}%`;
    btn.classList.toggle('narrow', width < 7);
  }

  function drawFlag(key) {
    const f = model.flags.get(key);
    if (!f) return;
    let btn = flagEls.get(key);
    const open = f.end_s === null || f.end_s === undefined;
    if (!btn) {
      btn = h('button', { type: 'button', class: 'fl-mark', testid: 'flag', dataset: { flag: f.type, key } });
      btn.addEventListener('click', () => showFlagDetail(model.flags.get(key) || f));
      btn.addEventListener('mouseenter', () => showFlagDetail(model.flags.get(key) || f));
      btn.addEventListener('focus', () => showFlagDetail(model.flags.get(key) || f));
      btn.appendChild(h('span', { class: 'fl-chip-text' }));
      lane(f.type).track.appendChild(btn);
      flagEls.set(key, btn);
    }
    btn.classList.toggle('open', open);
    btn.dataset.open = open ? 'true' : 'false';
    const label = flagLabel(f);
    btn.setAttribute('aria-label', label);
    btn.title = [label, ...(f.evidence || []).map(evidenceText)].join('\n');
    btn.firstChild.textContent = `${mediaTime(f.start_s)}${open ? '…' : `–${mediaTime(f.end_s)}`}`;
    placeFlag(btn, f);
    flEmpty.hidden = true;
  }

  function trimFlags() {
    while (model.flags.size > MAX_FLAGS) {
      const oldest = model.flags.keys().next().value;
      model.flags.delete(oldest);
      const btn = flagEls.get(oldest);
      if (btn) btn.remove();
      flagEls.delete(oldest);
    }
  }

  function addFlag(f) {
    const key = flagKey(f.type, f.start_s);
    const prev = model.flags.get(key);
    const merged = prev
      ? {
          ...prev,
          ...f,
          end_s: f.end_s ?? prev.end_s,
          evidence: f.evidence && f.evidence.length ? f.evidence : prev.evidence,
        }
      : f;
    if (prev) model.flags.delete(key); // re-insert: most recently touched last
    model.flags.set(key, merged);
    trimFlags();
    drawFlag(key);
  }

  function drawFlags() {
    for (const btn of flagEls.values()) btn.remove();
    flagEls.clear();
    for (const l of laneEls.values()) l.el.remove();
    laneEls.clear();
    for (const key of model.flags.keys()) drawFlag(key);
    flEmpty.hidden = model.flags.size > 0;
    const shown = shownFlag && model.flags.get(shownFlag);
    if (shown) showFlagDetail(shown);
    else {
      flDetail.hidden = true;
      shownFlag = null;
    }
    drawAxis();
  }

  function drawAxis() {
    const total = Math.max(model.maxT, 1);
    const ticks = 5;
    replace(
      flAxis,
      Array.from({ length: ticks + 1 }, (_, i) => {
        const tick = h('span', { class: 'fl-tick', text: mediaTime((total * i) / ticks) });
        tick.style.left = `${(i / ticks) * 100}%`;
        return tick;
      }),
    );
  }

  function relayoutFlags() {
    for (const [key, btn] of flagEls) {
      const f = model.flags.get(key);
      if (f) placeFlag(btn, f);
    }
    drawAxis();
  }

  // ---------------- face / delivery ----------------
  function drawFace() {
    const f = model.face;
    faceNums.faces.textContent = f ? String(f.faces) : t('ex.none');
    faceNums.eye.textContent = f ? pct(f.eye_contact_ratio ?? (f.eye_contact ? 1 : 0)) : t('ex.none');
    faceNums.away.textContent = f ? pct(f.looking_away_ratio ?? (f.looking_away ? 1 : 0)) : t('ex.none');
    const ring = model.faceRing;
    for (let i = 0; i < FACE_SAMPLES; i += 1) {
      const cls = ring[ring.length - FACE_SAMPLES + i];
      faceCells[i].className = `cell${cls ? ` ${cls}` : ''}`;
    }
  }

  function drawDelivery() {
    const d = model.delivery;
    if (d) {
      const unit = d.rate_unit === 'cpm' ? t('ex.del.cpm') : t('ex.del.wpm');
      delNums.rate.textContent = `${Math.round(Number(d.speaking_rate) || 0)} ${unit}`;
      delNums.pause.textContent = pct(d.pause_ratio);
      delNums.longp.textContent = String(d.long_pauses ?? t('ex.none'));
      delNums.fillers.textContent = `${d.fillers ?? 0}${t('ex.del.fillerRatio', { p: pct(d.filler_ratio) })}`;
    } else {
      for (const k of ['rate', 'pause', 'longp', 'fillers']) delNums[k].textContent = t('ex.none');
    }
    delNums.coverage.textContent = model.content ? pct(model.content.coverage) : t('ex.none');
  }

  // ---------------- personalised questions ----------------
  // The interview detail's `current` may not say whether the question was built from the
  // résumé; the report's answers do (an answer exists once its question has started, so one
  // report fetch per question and phase at most).
  const personal = new Map(); // question index -> {personalised, basis, in_ranking}
  const askedReport = new Set();
  async function learnPersonal(index, phase) {
    const key = `${index}|${phase}`;
    if (askedReport.has(key)) return;
    askedReport.add(key);
    try {
      const r = await API.report(interviewId);
      if (!ctx.alive) return;
      for (const a of r.answers || []) {
        const info = personalInfo(a);
        if (info) personal.set(Number(a.index), info);
      }
      if (personal.has(index)) schedule('question');
    } catch {
      /* a role without the report: the question shows without the mark */
    }
  }
  function personalOf(cur) {
    const own = personalInfo(cur);
    if (own) return own;
    if (!personal.has(cur.index)) learnPersonal(cur.index, cur.phase);
    return personal.get(cur.index) || null;
  }

  // ---------------- current question / countdown ----------------
  function drawQuestion() {
    const d = model.detail;
    const cur = d && d.current;
    const total = (d && d.questions_total) || null;
    const status = model.status || (d && d.status);
    if (!cur) {
      const finished = status && TERMINAL.has(status);
      replace(
        qBox,
        h(
          'div',
          { class: 'q-line' },
          h('span', { class: 'q-no', text: finished ? t('ex.view.finished') : t('ex.view.noQuestion') }),
          model.liveQ !== null && !finished
            ? h('span', { class: 'muted small', text: t('ex.view.liveQ', { n: model.liveQ + 1 }) })
            : null,
        ),
      );
      qBox.dataset.index = '';
      qBox.dataset.phase = '';
      clock.hidden = true;
      return;
    }
    qBox.dataset.index = String(cur.index);
    qBox.dataset.phase = cur.phase;
    replace(
      qBox,
      h(
        'div',
        { class: 'q-line' },
        h('span', { class: 'q-no', text: t('ex.view.question', { n: cur.index + 1, total: total || '?' }) }),
        cur.section ? h('span', { class: 'badge', text: t(`section.${cur.section}`) }) : null,
        cur.question ? mediaBadge(mode(), cur.question.media) : null,
        h('span', {
          class: `badge phase phase-${cur.phase}${cur.paused ? ' paused' : ''}`,
          testid: 'phase',
          text: cur.paused ? t('ex.view.paused') : t(`ex.view.phase.${cur.phase}`, {}, cur.phase),
        }),
        model.liveQ !== null && model.liveQ !== cur.index
          ? h('span', { class: 'muted small', text: t('ex.view.liveQ', { n: model.liveQ + 1 }) })
          : null,
      ),
      cur.question && cur.question.text ? h('p', { class: 'q-text', text: pick(cur.question.text) }) : null,
      personalisedNote(personalOf(cur), { testid: 'current-personalised' }),
    );
    clock.hidden = false;
    tickClock();
  }

  function tickClock() {
    const cur = model.detail && model.detail.current;
    if (!cur) return;
    const elapsed = cur.paused ? 0 : (performance.now() - model.countdownAt) / 1000;
    const left = Math.max(0, Number(cur.remaining_s || 0) - elapsed);
    clock.dataset.remainingS = String(Math.round(left * 10) / 10);
    clock.classList.toggle('low', left <= 10 && !cur.paused);
    clock.classList.toggle('paused', !!cur.paused);
    replace(
      clock,
      h('span', { class: 'clock-label', text: t('ex.view.remaining') }),
      h('strong', { text: countdown(left) }),
    );
  }

  function drawHeader() {
    const d = model.detail;
    if (!d) return;
    const name = d.name || (d.candidate && d.candidate.name) || interviewId;
    title.textContent = name;
    document.title = `${name} · ${t('ex.title')}`;
    subline.textContent = [d.email || (d.candidate && d.candidate.email), d.job_title].filter(Boolean).join(' · ');
    if (d.job_id) back.href = `#/jobs/${encodeURIComponent(d.job_id)}`;
    replace(statusHolder, statusBadge(model.status || d.status));
    reviewLink.classList.toggle('primary', (model.status || d.status) === 'completed');
    if (mode() !== panelsMode) modePanels(); // known after consent (the first poll, or later)
    transcriptionNote();
  }

  /** No speech model for the interview's language: say so where the transcript and scores
   * would be, instead of leaving them empty (or showing scores computed from nothing). */
  function transcriptionNote() {
    const tr = model.detail && model.detail.transcription;
    const off = !!tr && tr.available === false;
    trPanel.dataset.transcription = off ? 'unavailable' : 'available';
    if (!off) return;
    trEmpty.textContent = t('ex.tr.unavailable', { lang: t(`lang.${tr.language}`, {}, tr.language) });
    trEmpty.dataset.testid = 'transcription-unavailable';
    scEmpty.textContent = t('ex.sc.na.language');
  }

  // ---------------- events ----------------
  function noteTime(ev) {
    const tt = Number(ev.t);
    if (Number.isFinite(tt) && tt > model.maxT) model.maxT = tt;
    if (ev.question_index !== null && ev.question_index !== undefined && ev.type !== 'score_update')
      model.liveQ = Number(ev.question_index);
  }

  let frame = 0;
  const dirty = new Set();
  function schedule(what) {
    dirty.add(what);
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (!ctx.alive) return;
      if (dirty.has('partial')) trStickToBottom(drawPartial);
      if (dirty.has('face')) drawFace();
      if (dirty.has('delivery')) drawDelivery();
      if (dirty.has('question')) drawQuestion();
      dirty.clear();
    });
  }

  function onSnapshot(msg) {
    model.status = msg.status || model.status;
    model.finals = [];
    model.finalKeys.clear();
    model.partial = null;
    for (const f of (msg.transcript || []).slice(-MAX_FINALS)) addFinal(f, { render: false });
    for (const f of msg.transcript || [])
      noteTime({ t: f.end_s ?? f.t, question_index: f.question_index, type: 'transcript_final' });
    model.scores.clear();
    for (const s of msg.scores || []) {
      model.scores.set(s.dimension, s);
      if (Number(s.t) > model.maxT) model.maxT = Number(s.t);
    }
    model.flags.clear();
    for (const f of msg.flags || []) {
      model.flags.set(flagKey(f.type, f.start_s), { ...f });
      const end = Number(f.end_s ?? f.start_s);
      if (end > model.maxT) model.maxT = end;
    }
    trimFlags();
    drawTranscript();
    drawScores();
    drawFlags();
    drawHeader();
    schedule('question');
    snapshots += 1;
    root.dataset.snapshots = String(snapshots);
    root.dataset.resyncs = String(ctx.live.stats.resyncs);
  }

  function onEvent(ev) {
    noteTime(ev);
    switch (ev.type) {
      case 'transcript_partial':
        model.partial = {
          utterance_id: ev.utterance_id,
          stable: ev.stable || '',
          unstable: ev.unstable || '',
          start_s: ev.start_s,
          question_index: ev.question_index,
        };
        trEmpty.hidden = true;
        schedule('partial');
        break;
      case 'transcript_final':
        addFinal(ev);
        break;
      case 'score_update':
        model.scores.set(ev.dimension, {
          dimension: ev.dimension,
          value: ev.value,
          reason: ev.reason,
          evidence: ev.evidence || [],
          t: ev.t,
        });
        drawScore(ev.dimension);
        scEmpty.hidden = true;
        break;
      case 'flag':
        addFlag({
          type: ev.flag,
          start_s: ev.start_s,
          end_s: ev.end_s,
          question_index: ev.question_index,
          evidence: ev.evidence || [],
        });
        if (Number(ev.start_s) > model.maxT) model.maxT = Number(ev.start_s);
        break;
      case 'face_metrics': {
        model.face = ev;
        let cls = 'ok';
        if (ev.faces !== 1) cls = 'bad';
        else if (ev.looking_away) cls = 'away';
        else if (!ev.eye_contact) cls = 'meh';
        model.faceRing.push(cls);
        if (model.faceRing.length > FACE_SAMPLES) model.faceRing.splice(0, model.faceRing.length - FACE_SAMPLES);
        schedule('face');
        break;
      }
      case 'connection':
        if (ev.mode === 'text') {
          // a written interview has no media: its socket drops pause the clock, shown here
          connPanel.textContent = t('ex.conn.written', { re: ev.reconnects, paused: ev.paused_s_total });
          connPanel.classList.toggle('warn', ev.reconnects > 0);
          break;
        }
        connPanel.textContent = t('ex.conn.line', {
          fps: ev.video_fps,
          loss: ev.packet_loss_pct,
          jitter: ev.audio_jitter_ms,
          re: ev.reconnects,
        });
        connPanel.dataset.videoFps = String(ev.video_fps);
        connPanel.classList.toggle('warn', ev.video_fps < 10 || ev.packet_loss_pct > 5);
        break;
      case 'delivery_metrics':
        model.delivery = ev;
        schedule('delivery');
        break;
      case 'content_metrics':
        model.content = ev;
        schedule('delivery');
        break;
      default:
        break;
    }
    if (ev.question_index !== null && ev.question_index !== undefined) schedule('question');
  }

  let snapshots = 0;
  const root = main.querySelector('[data-testid="live-view"]');
  const topic = `interview:${interviewId}`;
  let unsubJob = () => {};
  const unsubLive = ctx.live.subscribe(topic, (msg) => {
    if (!ctx.alive) return;
    if (msg.type === 'snapshot') onSnapshot(msg);
    else if (msg.type === 'error') errorBanner(banner, new Error(msg.message || 'error'));
    else if (msg.kind === 'analysis' || msg.v === 1 || msg.type === 'connection') {
      onEvent(msg);
      if (typeof msg.seq === 'number') root.dataset.seq = String(msg.seq);
    }
  });

  // ---------------- polling ----------------
  let pollTimer = null;
  let first = true;
  async function poll() {
    try {
      const d = await API.interview(interviewId);
      if (!ctx.alive) return;
      model.detail = d;
      model.status = d.status;
      model.countdownAt = performance.now();
      banner.hidden = true;
      drawHeader();
      drawOverall();
      drawQuestion();
      if (first) {
        first = false;
        if (d.job_id) {
          unsubJob = ctx.live.subscribe(`job:${d.job_id}`, (msg) => {
            if (msg.type === 'status' && msg.interview_id === interviewId) {
              model.status = msg.status;
              drawHeader();
              schedule('question');
              clearTimeout(pollTimer);
              pollTimer = setTimeout(poll, 300); // pick up the new `current` at once
            }
          });
        }
      }
    } catch (e) {
      if (!ctx.alive) return;
      if (first) title.textContent = t('ex.view.notFound');
      errorBanner(banner, e);
    }
    if (!ctx.alive) return;
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, POLL_MS);
  }

  /** Every panel from the model (first render, language switch). */
  function drawAll() {
    labels();
    drawTranscript();
    drawScores();
    drawFlags();
    drawFace();
    drawDelivery();
    drawQuestion();
  }

  drawAll();
  loadCompetencies()
    .then(() => {
      if (ctx.alive)
        for (const dim of model.scores.keys()) {
          const el = scoreEls.get(dim);
          if (el) el.name.textContent = competencyName(dim);
        }
    })
    .catch(() => {});
  poll();

  const clockTimer = setInterval(() => {
    if (ctx.alive) tickClock();
  }, 1000);
  const layoutTimer = setInterval(() => {
    if (ctx.alive && flagEls.size) relayoutFlags();
    else if (ctx.alive) drawAxis();
  }, 1000);

  ctx.onLang = () => {
    drawAll();
    drawHeader();
  };

  return () => {
    unsubLive();
    unsubJob();
    clearTimeout(pollTimer);
    clearInterval(clockTimer);
    clearInterval(layoutTimer);
    if (frame) cancelAnimationFrame(frame);
  };
}
