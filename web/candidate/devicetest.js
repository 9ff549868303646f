// Device test: camera preview, microphone level, network RTT/upload, WebRTC connection.
// What is checked follows the interview mode: video checks everything; audio the microphone,
// network and WebRTC (the camera is never asked for); text only the network (and waits for
// the control socket, which is all a written interview needs).
import { $, focusEl, h, show } from '../common/dom.js';
import { median, sleep } from '../common/timing.js';
import { attachVideo, createLevelMeter, resumeAudio } from './media.js';
import { i18n, modeKey, t } from './i18n.js';
import { usesMedia } from './modes.js';

export const RTT_WARN_MS = 300;
export const UPLOAD_WARN_KBPS = 500;
export const UPLOAD_TEST_BYTES = 1024 * 1024;
export const PING_COUNT = 5;
export const MIC_LEVEL_OK_RMS = 0.01; // ≈ -40 dBFS: quiet speech is well above this
export const MIC_OK_AFTER_MS = 300; // that much sound in total → the microphone works
export const MIC_SILENT_WARN_MS = 8000;
export const WEBRTC_FAIL_AFTER_MS = 15000;

/** Every check, in the order of its row. */
export const CHECK_NAMES = ['camera', 'microphone', 'network', 'webrtc'];
/** The rows each mode shows, and of those the ones that must pass before the interview starts. */
export const CHECKS = {
  video: { shown: CHECK_NAMES, needed: ['camera', 'microphone', 'webrtc'] },
  audio: { shown: ['microphone', 'network', 'webrtc'], needed: ['microphone', 'webrtc'] },
  text: { shown: ['network'], needed: ['network'] },
};

/** The row of one check (#check-<name>, in #device-checks); paint() fills its status and texts. */
function checkRow(name) {
  const key = `check.${name}`;
  return h(
    'li',
    { class: 'check', id: `check-${name}`, testid: `check-${name}`, dataset: { status: 'pending' } },
    h('span', { class: 'check-icon', 'aria-hidden': 'true' }),
    h(
      'div',
      { class: 'check-body' },
      h(
        'h2',
        { class: 'check-title' },
        h('span', { dataset: { i18n: key }, text: t(key) }),
        ' ',
        h('span', { class: 'sr-only check-status' }),
      ),
      h('p', { class: 'check-msg' }),
      h('p', { class: 'check-advice' }),
    ),
  );
}

/** Random bytes (crypto.getRandomValues fills at most 64 KiB per call). */
export function randomBytes(n) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

/** RTT = median of PING_COUNT pings; upload = 1 MiB POST timed on the client. */
export async function measureNetwork(api) {
  await api.ping(); // warm up the connection (TLS/TCP setup would skew the first sample)
  const rtts = [];
  for (let i = 0; i < PING_COUNT; i++) {
    const t0 = performance.now();
    await api.ping();
    rtts.push(performance.now() - t0);
  }
  const bytes = randomBytes(UPLOAD_TEST_BYTES);
  const t0 = performance.now();
  await api.uploadTest(bytes);
  const ms = Math.max(1, performance.now() - t0);
  return { rtt_ms: Math.round(median(rtts)), upload_kbps: Math.round((bytes.length * 8) / ms) };
}

/**
 * @param {object} ctx
 * @param {object} ctx.api
 * @param {() => "video"|"audio"|"text"} ctx.getMode      the interview mode chosen at consent
 * @param {() => Promise<MediaStream>} ctx.ensureMedia   getUserMedia once (rejects with .reason)
 * @param {(stream: MediaStream|null) => void} ctx.ensureSession  start the control socket (+ WebRTC)
 * @param {() => object|null} ctx.getLink
 * @param {(msg: object) => boolean} ctx.send
 * @param {() => object|null} ctx.getState               latest CandidateState
 * @param {(state: object) => void} ctx.onState
 */
export function createDeviceTest(ctx) {
  const rows = Object.fromEntries(CHECK_NAMES.map((name) => [name, checkRow(name)]));
  $('#device-checks').append(...Object.values(rows));
  const results = {
    camera: { status: 'pending', msg: 'camera.pending' },
    microphone: { status: 'pending', msg: 'mic.pending' },
    network: { status: 'pending', msg: 'network.pending' },
    webrtc: { status: 'pending', msg: 'webrtc.waiting' },
  };
  const video = $('#device-video');
  const meterBar = $('#device-meter-bar');
  const meterEl = $('#device-meter');
  const enableAudio = $('#audio-enable');
  const cont = $('#device-continue');
  const retry = $('#device-retry');
  const error = $('#device-error');
  let stream = null;
  let meter = null;
  let measurements = { rtt_ms: null, upload_kbps: null };
  let active = false;
  let starting = false;
  let heardMs = 0;
  let lastFrame = 0;
  let micStartedAt = 0;
  let webrtcSince = 0;
  let runId = 0;

  const mode = () => ctx.getMode();

  function set(name, status, msg, vars = {}, advice = null) {
    results[name] = { status, msg, vars, advice };
    paint(name);
    updateContinue();
  }

  /** Message and advice are shown in their variant for the mode (modeKey), if there is one. */
  function paint(name) {
    const r = results[name];
    const m = mode();
    const row = rows[name];
    row.dataset.status = r.status;
    row.querySelector('.check-status').textContent = `: ${t(`status.${r.status}`)}`;
    row.querySelector('.check-msg').textContent = t(modeKey(r.msg, m), r.vars || {});
    const adv = row.querySelector('.check-advice');
    adv.textContent = r.advice ? t(modeKey(r.advice, m)) : '';
    show(adv, !!r.advice);
  }

  function paintAll() {
    for (const name of Object.keys(rows)) paint(name);
  }
  i18n.onChange(paintAll);

  /** A slow network is worth a warning, not a reason to keep the candidate from starting. */
  function passed(name) {
    const status = results[name].status;
    return status === 'ok' || (name === 'network' && status === 'warning');
  }

  function updateContinue() {
    let ready = CHECKS[mode()].needed.every(passed);
    if (!usesMedia(mode())) ready = ready && !!ctx.getLink()?.socket; // start_interview goes there
    cont.disabled = starting || !ready;
    show($('#device-hint'), !ready);
  }

  /** Show the rows and the preview the mode needs (no camera preview without a camera). */
  function layout() {
    const m = mode();
    for (const [name, row] of Object.entries(rows)) show(row, CHECKS[m].shown.includes(name));
    show($('#device-preview-col'), usesMedia(m));
    show($('#device-video-frame'), m === 'video');
    $('#device-grid').dataset.mode = m;
  }

  async function checkMedia() {
    // Audio mode: the microphone row carries what the camera row says in video mode.
    const deviceRow = mode() === 'video' ? 'camera' : 'microphone';
    set(deviceRow, 'pending', 'camera.pending');
    try {
      stream = await ctx.ensureMedia();
    } catch (err) {
      const reason = err.reason || 'other';
      set(deviceRow, 'failure', `camera.${reason}`, {}, `camera.${reason}.advice`);
      if (deviceRow === 'camera') set('microphone', 'failure', 'mic.unavailable'); // the camera row carries the advice
      set('webrtc', 'pending', 'webrtc.waiting');
      return false;
    }
    if (mode() === 'video') checkCamera();
    startMic();
    return true;
  }

  function checkCamera() {
    attachVideo(video, stream);
    const vtrack = stream.getVideoTracks()[0];
    if (!vtrack || vtrack.readyState !== 'live') {
      set('camera', 'failure', 'camera.other', {}, 'camera.other.advice');
    } else {
      const markOk = () => {
        if (video.videoWidth > 0) set('camera', 'ok', 'camera.ok');
      };
      if (video.readyState >= 1) markOk();
      video.addEventListener('loadedmetadata', markOk, { once: true });
      vtrack.addEventListener('ended', () => set('camera', 'failure', 'camera.other', {}, 'camera.other.advice'), {
        once: true,
      });
    }
  }

  function startMic() {
    if (meter) meter.stop();
    heardMs = 0;
    lastFrame = performance.now();
    micStartedAt = performance.now();
    if (!stream.getAudioTracks().length) {
      set('microphone', 'failure', 'mic.unavailable', {}, 'camera.missing.advice');
      return;
    }
    set('microphone', 'pending', 'mic.pending');
    meter = createLevelMeter(stream, (level, rms) => {
      const now = performance.now();
      const dt = Math.min(100, now - lastFrame);
      lastFrame = now;
      meterBar.style.transform = `scaleX(${level.toFixed(3)})`;
      meterEl.setAttribute('aria-valuenow', String(Math.round(level * 100)));
      if (rms >= MIC_LEVEL_OK_RMS) heardMs += dt;
      const r = results.microphone.status;
      if (heardMs >= MIC_OK_AFTER_MS && r !== 'ok') set('microphone', 'ok', 'mic.ok');
      else if (r === 'pending' && now - micStartedAt > MIC_SILENT_WARN_MS) {
        set('microphone', 'warning', 'mic.silent', {}, 'mic.silent.advice');
      }
      show(enableAudio, meter.suspended);
    });
    if (meter.unsupported) set('microphone', 'ok', 'mic.ok'); // no Web Audio: cannot measure, do not block
    show(enableAudio, meter.suspended);
  }

  async function checkNetwork(id) {
    set('network', 'pending', 'network.pending');
    try {
      const m = await measureNetwork(ctx.api);
      if (id !== runId) return;
      measurements = m;
      const vars = { rtt: m.rtt_ms, kbps: m.upload_kbps };
      if (m.rtt_ms > RTT_WARN_MS || m.upload_kbps < UPLOAD_WARN_KBPS) {
        set('network', 'warning', 'network.slow', vars, 'network.slow.advice');
      } else {
        set('network', 'ok', 'network.ok', vars);
      }
    } catch {
      if (id !== runId) return;
      set('network', 'failure', 'network.failed', {}, 'network.failed.advice');
    }
  }

  function onLink(link) {
    updateContinue();
    if (!active && results.webrtc.status === 'ok') return;
    if (!stream || !usesMedia(mode())) return;
    if (link && link.up) {
      set('webrtc', 'ok', 'webrtc.ok');
      return;
    }
    if (!webrtcSince) webrtcSince = performance.now();
    const failedLong = performance.now() - webrtcSince > WEBRTC_FAIL_AFTER_MS;
    if (link && link.errorStatus === 503) {
      // Admission control: the server is full right now; the session keeps retrying.
      set('webrtc', 'warning', 'webrtc.busy', {}, 'webrtc.busy.advice');
    } else if (link && (link.failures > 0 || failedLong)) {
      set('webrtc', 'failure', 'webrtc.failed', {}, 'webrtc.failed.advice');
    } else {
      set('webrtc', 'pending', 'webrtc.pending');
    }
  }

  async function run() {
    const id = ++runId;
    show(error, false);
    layout();
    paintAll();
    if (!usesMedia(mode())) {
      ctx.ensureSession(null); // the control socket only: nothing to capture, no peer connection
      await checkNetwork(id);
      return;
    }
    const mediaOk = await checkMedia();
    checkNetwork(id);
    if (mediaOk) {
      webrtcSince = performance.now();
      ctx.ensureSession(stream);
      onLink(ctx.getLink());
      // Re-evaluate the WebRTC row while waiting so a slow connection turns into advice.
      (async () => {
        while (id === runId && active && results.webrtc.status !== 'ok') {
          await sleep(1000);
          onLink(ctx.getLink());
        }
      })();
    }
  }

  enableAudio.addEventListener('click', () => {
    resumeAudio();
    setTimeout(() => show(enableAudio, !!meter && meter.suspended), 200);
  });

  retry.addEventListener('click', () => run());

  cont.addEventListener('click', async () => {
    if (cont.disabled) return;
    starting = true;
    cont.textContent = t('device.starting');
    updateContinue();
    show(error, false);
    try {
      const state = ctx.getState();
      if (!state || state.status === 'consented') {
        const shown = CHECKS[mode()].shown;
        const ok = (name) => shown.includes(name) && results[name].status === 'ok';
        const next = await ctx.api.deviceCheck({
          camera: ok('camera'),
          microphone: ok('microphone'),
          webrtc: ok('webrtc'),
          rtt_ms: measurements.rtt_ms,
          upload_kbps: measurements.upload_kbps,
        });
        if (next) ctx.onState(next);
      }
      if (!ctx.send({ type: 'start_interview' })) throw new Error('control socket not open');
      // The server answers with a `state` (status in_progress); the app switches screens then.
      await sleep(10000);
      if (active) throw new Error('no answer to start_interview');
    } catch (err) {
      if (!active) return;
      error.textContent = t('device.error');
      show(error, true);
      console.warn('start failed', err);
    } finally {
      starting = false;
      cont.textContent = t('device.continue');
      updateContinue();
    }
  });

  return {
    show() {
      if (active) return;
      active = true;
      paintAll();
      focusEl($('#device-title'));
      run();
    },
    hide() {
      active = false;
      runId++;
      if (meter) meter.stop();
      meter = null;
    },
    onLink,
    get measurements() {
      return measurements;
    },
  };
}
