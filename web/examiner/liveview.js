// Live candidate view (#/interviews/<id>): topic `interview:<id>` on the staff socket.
//
// A snapshot (finals so far, latest scores, merged flags) replaces the model; deltas are the
// analysis events of docs/protocol.md. The model is plain data so a language switch can
// relabel everything; the DOM is updated incrementally and stays bounded (500 finals,
// 300 flags). The current question and timer come from polling GET /api/interviews/{id}.
// Under server load the analysis may run reduced (`analysis_degraded`, analyzers/degrade.py):
// a badge with the level's meaning shows until full analysis is back.

import { h, replace } from '../common/dom.js';
import { API } from '../staff/api.js';
import { statusBadge, errorBanner, loadCompetencies, competencyName, TERMINAL } from '../staff/ui.js';
import { t, pick } from '../staff/i18n.js';
import { modeBadge, personalInfo, personalisedNote } from '../staff/reportparts.js';
import { MAX_FINALS, FACE_SAMPLES, countdown, flagKey, mediaBadge, hasSpeech } from './liveview/common.js';
import { transcriptPanel } from './liveview/transcript.js';
import { scoresPanel } from './liveview/scores.js';
import { flagsPanel } from './liveview/flags.js';
import { metricsPanels } from './liveview/metrics.js';

export {
  MAX_FINALS,
  MAX_FLAGS,
  mediaTime,
  INTERVIEW_MODES,
  modeBadge,
  hasFace,
  hasSpeech,
  answeredAs,
  evidenceList,
} from './liveview/common.js';

const POLL_MS = 5000;

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
    degraded: null, // the latest analysis_degraded event (level 0: full analysis)
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
  const degradedNote = h('p', {
    class: 'degraded-note',
    role: 'status',
    testid: 'analysis-degraded',
    hidden: true,
    dataset: { level: '0' },
  });

  const transcript = transcriptPanel(model);
  const { trPanel, trEmpty, addFinal, drawPartial, drawTranscript, trStickToBottom } = transcript;
  const scores = scoresPanel(model);
  const { scPanel, scEmpty, scoreEls, drawScore, drawScores, drawOverall } = scores;
  const flags = flagsPanel(model);
  const { flPanel, flagEls, trimFlags, addFlag, drawFlags, drawAxis, relayoutFlags } = flags;
  const metrics = metricsPanels(model);
  const { facePanel, delPanel, drawFace, drawDelivery } = metrics;
  const connPanel = h('p', { class: 'conn-quality muted', testid: 'connection-quality', 'aria-live': 'off' });
  // no media arrived for a while: the network, not the candidate (never an integrity flag)
  const gapNote = h('p', { class: 'conn-quality warn', testid: 'network-gap', hidden: true });
  const gaps = { count: 0, total_s: 0 };

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
    degradedNote,
    aiNote,
    h(
      'div',
      { class: 'live-grid', testid: 'live-view', dataset: { interviewId } },
      h('div', { class: 'live-main' }, trPanel),
      h('div', { class: 'live-side' }, scPanel, facePanel, delPanel, connPanel, gapNote),
    ),
    flPanel,
  );

  // ---------------- static labels (re-run on a language switch) ----------------
  function labels() {
    back.textContent = t('ex.view.back');
    reviewLink.textContent = t('ex.rv.open');
    replace(aiNote, h('strong', { text: t('ex.ai.title') }), ' ', h('span', { text: t('ex.ai.body') }));
    transcript.labels();
    scores.labels();
    flags.labels();
    modePanels();
    drawDegraded();
  }

  // ---------------- reduced analysis under server load ----------------
  /** The badge while the analysis runs reduced (not once the interview is over). */
  function drawDegraded() {
    const level = model.degraded ? Number(model.degraded.level) || 0 : 0;
    const status = model.status || (model.detail && model.detail.status);
    const show = level > 0 && !(status && TERMINAL.has(status));
    degradedNote.hidden = !show;
    degradedNote.dataset.level = String(show ? level : 0);
    if (!show) {
      replace(degradedNote);
      return;
    }
    replace(
      degradedNote,
      h('span', { class: 'badge degraded', text: t('ex.degraded.badge') }),
      ' ',
      h('span', {
        class: 'muted small',
        text: `${t(`ex.degraded.level.${level}`, {}, '')} ${t('ex.degraded.kept')}`.trim(),
      }),
    );
  }

  // ---------------- panels that depend on the interview mode ----------------
  const mode = () => (model.detail ? model.detail.mode : null);
  let panelsMode; // the mode the face/delivery panels were built for

  function modePanels() {
    const m = mode();
    panelsMode = m;
    replace(modeHolder, modeBadge(m));
    trEmpty.textContent = hasSpeech(m) ? t('ex.tr.empty') : t('ex.tr.na.text');
    metrics.applyMode(m);
    transcriptionNote();
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
    drawDegraded();
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
    model.degraded = msg.degraded || null;
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
        else if (!ev.facing_screen) cls = 'meh';
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
      case 'network_gap':
        gaps.count += 1;
        gaps.total_s += Number(ev.duration_s) || 0;
        gapNote.textContent = t('ex.conn.gap', {
          last: Number(ev.duration_s).toFixed(1),
          n: gaps.count,
          total: gaps.total_s.toFixed(1),
        });
        gapNote.dataset.count = String(gaps.count);
        gapNote.hidden = false;
        break;
      case 'analysis_degraded':
        model.degraded = ev;
        drawDegraded();
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
