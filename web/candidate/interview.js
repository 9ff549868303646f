// Interview screen. Driven only by the server's `state` and `tick` messages: the server owns
// the timers, this module only displays them and sends the candidate's actions.
// Per mode, the side column shows the camera self-view (video), a microphone sign with the
// level (audio) or a note that nothing is recorded (text); in text mode every question is
// answered in the text box.
import { $, announce, focusEl, h, show } from '../common/dom.js';
import { formatMmSs } from '../common/timing.js';
import { pickText } from '../common/i18n.js';
import { attachVideo, createLevelMeter } from './media.js';
import { createSyncedField } from './fields.js';
import { i18n, modeKey, t } from './i18n.js';

export const WARN_AT_S = [30, 10]; // answer-phase warnings, seconds left
const SECTION_ORDER = ['self_intro', 'structured', 'professional'];

export function createInterview({ send }) {
  const el = {
    section: $('#iv-section'),
    progress: $('#iv-progress'),
    stepper: $('#iv-stepper'),
    card: $('#timer-card'),
    phase: $('#iv-phase'),
    warn: $('#iv-warn'),
    countdown: $('#iv-countdown'),
    fill: $('#iv-timer-fill'),
    hint: $('#iv-hint'),
    question: $('#iv-question'),
    start: $('#answer-start'),
    finish: $('#answer-finish'),
    textWrap: $('#text-answer-wrap'),
    video: $('#iv-video'),
    selfview: $('#iv-selfview'),
    selfmic: $('#iv-selfmic'),
    written: $('#iv-written'),
    meterBar: $('#iv-meter-bar'),
    banner: $('#banner'),
    bannerText: $('#banner-text'),
    netWarning: $('#net-warning'),
    polite: $('#live-polite'),
    assertive: $('#live-assertive'),
  };
  const scratchpad = createSyncedField({
    textarea: $('#scratchpad'),
    flag: $('#scratchpad-saved'),
    field: 'scratchpad',
    send,
  });
  const textAnswer = createSyncedField({
    textarea: $('#text-answer'),
    flag: $('#text-answer-saved'),
    field: 'text_answer',
    send,
  });

  let state = null; // latest CandidateState
  let timer = { index: null, phase: null, paused: true, remaining: null };
  let linkUp = false;
  let busy = false; // the node refused the connection for lack of room (503); retrying
  let failing = false; // several attempts in a row failed: say so, and how to get help
  let shownIndex = null;
  let warned = new Set(); // "index:phase:30"
  let pendingAction = null; // {index, phase}: disable the button until the phase moves on
  let meter = null;
  let visible = false;
  let mode = 'video';

  const cur = () => (state && state.current) || null;

  function isPaused() {
    return !linkUp || !!timer.paused;
  }

  function renderStatic() {
    const c = cur();
    const total = state?.questions_total || 0;
    if (!c) {
      el.section.textContent = '';
      el.progress.textContent = '';
      el.question.textContent = t('iv.waiting');
      renderStepper(null);
      return;
    }
    el.section.textContent = t(`section.${c.section}`);
    el.progress.textContent = t('progress', { n: c.index + 1, total });
    el.question.textContent = pickText(c.question?.text, i18n.lang);
    el.question.lang = i18n.lang === 'zh' ? 'zh-CN' : 'en';
    renderStepper(c);
  }

  function renderStepper(c) {
    const sections = [...(state?.sections || [])]
      .filter((s) => s.count > 0)
      .sort((a, b) => SECTION_ORDER.indexOf(a.section) - SECTION_ORDER.indexOf(b.section));
    el.stepper.replaceChildren();
    let offset = 0;
    for (const s of sections) {
      const dots = [];
      for (let i = 0; i < s.count; i++) {
        const qi = offset + i;
        const cls = !c ? '' : qi < c.index ? 'done' : qi === c.index ? 'current' : '';
        dots.push(h('span', { class: `dot ${cls}` }));
      }
      offset += s.count;
      const isCurrent = c && c.section === s.section;
      el.stepper.append(
        h(
          'li',
          { class: isCurrent ? 'current' : '' },
          h('span', { class: 'step-name' }, t(`section.${s.section}`)),
          h('span', { class: 'dots' }, dots),
        ),
      );
    }
  }

  function renderTimer() {
    const c = cur();
    const paused = isPaused();
    const phase = timer.phase || c?.phase || 'prep';
    const remaining = timer.remaining ?? c?.remaining_s ?? 0;
    const shownPhase = paused ? 'paused' : phase;
    el.card.dataset.phase = shownPhase;
    el.phase.dataset.phase = shownPhase;
    el.phase.textContent = t(`phase.${shownPhase}`);
    el.countdown.textContent = formatMmSs(remaining);
    el.countdown.dataset.remainingS = String(remaining);
    el.countdown.setAttribute(
      'aria-label',
      t('countdown.aria', { phase: t(`phase.${shownPhase}`), time: formatMmSs(remaining) }),
    );
    const total = phase === 'answer' ? c?.question?.answer_s : c?.question?.prep_s;
    const frac = total ? Math.max(0, Math.min(1, remaining / total)) : 0;
    el.fill.style.transform = `scaleX(${frac.toFixed(4)})`;

    // Warnings at 30 s / 10 s left while answering.
    let level = 0;
    if (phase === 'answer' && c) {
      for (const s of WARN_AT_S) if (remaining <= s) level = s;
    }
    el.card.dataset.warn = level ? String(level) : '';
    show(el.warn, !!level);
    el.warn.textContent = level ? t(`warn.${level}`) : '';
    if (level && !paused && c) {
      const key = `${c.index}:${level}`;
      if (!warned.has(key)) {
        warned.add(key);
        // Entering mid-warning (e.g. after a reload at 8 s) announces only the tighter one.
        announce(level === 10 ? el.assertive : el.polite, t(`warn.${level}`));
        for (const s of WARN_AT_S) if (s > level) warned.add(`${c.index}:${s}`);
      }
    }

    const isText = mode === 'text' || c?.question?.media === 'text';
    el.hint.textContent = paused
      ? t('hint.paused')
      : phase === 'prep'
        ? t('hint.prep')
        : isText
          ? t(modeKey('hint.answer.text', mode))
          : t(modeKey('hint.answer', mode));

    // Buttons.
    const blocked = pendingAction && c && pendingAction.index === c.index && pendingAction.phase === phase;
    show(el.start, !!c && phase === 'prep');
    show(el.finish, !!c && phase === 'answer');
    el.start.disabled = paused || !!blocked;
    el.finish.disabled = paused || !!blocked;
    show(el.textWrap, !!c && isText && phase === 'answer');
    renderBanner(paused);
  }

  function renderBanner(paused) {
    const reason = linkUp ? 'reconnecting' : busy ? 'busy' : failing ? 'failed' : 'reconnecting';
    el.banner.dataset.reason = reason;
    el.bannerText.textContent = t(reason === 'reconnecting' ? 'reconnecting' : `reconnecting.${reason}`);
    show(el.banner, visible && paused);
  }

  function onNewQuestion(c) {
    shownIndex = c ? c.index : null;
    pendingAction = null;
    if (!c) return;
    scratchpad.load(c.index, c.scratchpad);
    textAnswer.load(c.index, c.text_answer);
    if (visible) {
      const text = pickText(c.question?.text, i18n.lang);
      announce(el.polite, t('announce.question', { n: c.index + 1, total: state.questions_total, text }));
      focusEl(el.question);
    }
  }

  function act(type) {
    const c = cur();
    if (!c) return;
    scratchpad.flush();
    textAnswer.flush();
    if (send({ type })) {
      pendingAction = { index: c.index, phase: timer.phase || c.phase };
      renderTimer();
    }
  }
  el.start.addEventListener('click', () => act('start_answer'));
  el.finish.addEventListener('click', () => act('finish_answer'));

  let uplink = null; // why the uplink is weak, or null
  function renderUplink() {
    el.netWarning.textContent = uplink ? t(`net.weak.${uplink}`) : '';
    el.netWarning.dataset.reason = uplink || '';
    show(el.netWarning, !!uplink);
  }

  i18n.onChange(() => {
    renderUplink();
    if (!state) {
      renderBanner(!linkUp);
      return;
    }
    renderStatic();
    renderTimer();
    scratchpad.relabel();
    textAnswer.relabel();
  });

  return {
    /** A CandidateState (from GET /state or a `state` message). */
    render(next) {
      state = next;
      const c = cur();
      if (c) timer = { index: c.index, phase: c.phase, paused: !!c.paused, remaining: c.remaining_s };
      if ((c ? c.index : null) !== shownIndex || (c && scratchpad.index === null)) onNewQuestion(c);
      else if (c && pendingAction && pendingAction.phase !== c.phase) pendingAction = null;
      renderStatic();
      renderTimer();
    },
    tick(msg) {
      const c = cur();
      if (!c || msg.index !== c.index) return; // a `state` for the new question follows
      if (msg.phase !== timer.phase) pendingAction = null;
      timer = { index: msg.index, phase: msg.phase, paused: !!msg.paused, remaining: msg.remaining_s };
      // Keep the state's copy in step so a later render without tick data shows the same thing.
      c.phase = msg.phase;
      c.paused = !!msg.paused;
      c.remaining_s = msg.remaining_s;
      renderTimer();
    },
    saved(msg) {
      scratchpad.onSaved(msg);
      textAnswer.onSaved(msg);
    },
    /**
     * Whether the stream is connected; `busy`: the last attempt was refused with 503;
     * `failing`: attempts keep failing (e.g. the network blocks real-time media).
     */
    setLink(up, { busy: isBusy = false, failing: isFailing = false } = {}) {
      linkUp = up;
      busy = !up && isBusy;
      failing = !up && isFailing;
      if (state) renderTimer();
      else renderBanner(!up);
    },
    resendPending() {
      scratchpad.resend();
      textAnswer.resend();
    },
    flush() {
      scratchpad.flush();
      textAnswer.flush();
    },
    /** The uplink is weak (`reason`: upload | loss | delay) or fine again (null). */
    setUplink(reason) {
      uplink = reason;
      renderUplink();
    },
    /** "video" | "audio" | "text": what the side column shows and how questions are answered. */
    setMode(next) {
      mode = next;
      show(el.selfview, mode !== 'text');
      show(el.video, mode === 'video');
      show(el.selfmic, mode === 'audio');
      show(el.written, mode === 'text');
      if (state) renderTimer();
    },
    attachStream(stream) {
      if (mode === 'video') attachVideo(el.video, stream);
      if (meter) meter.stop();
      meter = createLevelMeter(stream, (level) => {
        el.meterBar.style.transform = `scaleX(${level.toFixed(3)})`;
      });
    },
    show() {
      visible = true;
      if (state) renderTimer();
      const c = cur();
      focusEl(c ? el.question : $('#iv-question'));
    },
    hide() {
      visible = false;
      show(el.banner, false);
      if (meter) meter.stop();
      meter = null;
    },
  };
}
