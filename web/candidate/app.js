// Candidate interview page: routes between screens from the CandidateState and wires the
// modules together. Protocol: docs/protocol.md ("Candidate" and "Control socket").
// The interview mode chosen at consent decides what is captured: camera and microphone
// (video), the microphone only (audio) or nothing at all (text: no getUserMedia, no peer).
import { $, focusEl, show } from '../common/dom.js';
import { normalizeLang } from '../common/i18n.js';
import { ApiError, createApi, tokenFromPath } from './api.js';
import { createConsentScreen } from './consent.js';
import { createDeviceTest } from './devicetest.js';
import { createFailover } from './failover.js';
import { createInterview } from './interview.js';
import { i18n, modeKey, t } from './i18n.js';
import { getMedia, resumeAudio, stopStream } from './media.js';
import { applyModeTexts, DEFAULT_MODE, modeOf, usesMedia } from './modes.js';
import { FAILING_AFTER, Session } from './session.js';
import { followLayers, watchUplink } from './netquality.js';
import { watchSignals } from './signals.js';

const LANG_KEY = 'interview-live.lang'; // per tab: the candidate's manual language choice

const token = tokenFromPath();
const api = token ? createApi(token) : null;
const failover = token ? createFailover(token) : undefined; // other nodes of the deployment

let state = null;
let mode = DEFAULT_MODE; // from the state once consent is given
let stream = null; // stays null in a text interview
let session = null;
let finished = false; // an end screen is showing: ignore everything else
let stopUplinkWatch = null; // the uplink watcher (quality note, video layers) of the running session
let currentScreen = 'loading';

// ---- language -------------------------------------------------------------------------------

function storedLang() {
  try {
    return sessionStorage.getItem(LANG_KEY);
  } catch {
    return null;
  }
}

function storeLang(lang) {
  try {
    sessionStorage.setItem(LANG_KEY, lang);
  } catch {
    /* private mode: the choice just won't survive a reload */
  }
}

// Moved here from another node: keep the language the candidate chose there.
if (failover && failover.carried.lang) storeLang(normalizeLang(failover.carried.lang));
i18n.setLang(storedLang() || normalizeLang(navigator.language));
$('#lang-switch').addEventListener('click', () => {
  const next = i18n.lang === 'zh' ? 'en' : 'zh';
  storeLang(next);
  i18n.setLang(next);
});
i18n.onChange(() => {
  if (currentScreen === 'error' && lastError) renderError(lastError);
});

// ---- screens --------------------------------------------------------------------------------

const SCREENS = ['loading', 'error', 'consent', 'declined', 'device', 'media', 'interview', 'end', 'replaced'];

function showScreen(name) {
  if (currentScreen === name) return;
  if (currentScreen === 'device' && name !== 'device') device.hide();
  if (currentScreen === 'interview' && name !== 'interview') interview.hide();
  currentScreen = name;
  for (const s of SCREENS) show($(`#screen-${s}`), s === name);
  document.body.dataset.screen = name;
  const heading = $(`#screen-${name} h1`);
  if (name !== 'interview' && heading) focusEl(heading);
  window.scrollTo(0, 0);
}

let lastError = null;

function renderError(err) {
  let title = 'error.title';
  let key = 'error.unknown';
  let retry = false;
  if (err === 'nolink') key = 'error.nolink';
  else if (err instanceof ApiError && err.isLinkProblem) {
    if (err.status === 410) key = /revok/i.test(err.code || '') ? 'error.revoked' : 'error.expired';
    else if (err.status === 404) key = 'error.notfound';
    else key = 'error.unauthorized';
  } else if (err === 'expired') key = 'error.expired';
  else if (err === 'revoked') key = 'error.revoked';
  else {
    title = 'error.network.title';
    key = err instanceof ApiError && err.status === 0 ? 'error.network' : 'error.unknown';
    retry = true;
  }
  $('#error-title').textContent = t(title);
  $('#error-message').textContent = t(key);
  $('#screen-error').dataset.reason = typeof err === 'string' ? err : String(err?.status ?? '');
  show($('#error-retry'), retry);
}

function showError(err) {
  lastError = err;
  renderError(err);
  // A dead link is final; a network error keeps the page alive for "Try again".
  if ((err instanceof ApiError && err.isLinkProblem) || typeof err === 'string') finish(null);
  showScreen('error');
}

$('#error-retry').addEventListener('click', () => load());

/** Stop everything for good (interview over, declined, replaced, link unusable). */
function finish(screen) {
  finished = true;
  interview.flush();
  if (stopUplinkWatch) stopUplinkWatch();
  stopUplinkWatch = null;
  if (session) session.stop();
  stopStream(stream);
  stream = null;
  if (screen) showScreen(screen);
}

// ---- media + connection ---------------------------------------------------------------------

/** The local stream for the mode (null in text mode: nothing is captured). */
async function ensureMedia() {
  if (!usesMedia(mode)) return null;
  if (stream && stream.getTracks().every((tr) => tr.readyState === 'live')) return stream;
  stopStream(stream);
  stream = await getMedia(mode);
  interview.attachStream(stream);
  return stream;
}

/** Adapt the screens after consent to the interview mode (texts, device rows, side column). */
function setMode(next) {
  if (next === mode && document.body.dataset.mode) return;
  mode = next;
  document.body.dataset.mode = mode;
  for (const name of ['device', 'media', 'interview']) applyModeTexts($(`#screen-${name}`), mode);
  interview.setMode(mode);
}

function ensureSession(s) {
  if (session || finished) return;
  session = new Session({
    api,
    token,
    stream: s,
    iceServers: Array.isArray(state?.ice_servers) ? state.ice_servers : [],
    failover,
    onMessage,
    onLinkChange: (link) => {
      device.onLink(link);
      interview.setLink(link.up, { busy: link.errorStatus === 503, failing: link.failures >= FAILING_AFTER });
      document.body.dataset.link = link.up ? 'up' : 'down';
    },
    onSocketOpen: () => interview.resendPending(),
    onFatal: (kind, detail) => {
      if (kind === 'link') showError(detail);
      else if (kind === 'move') moveTo(detail);
      else route(detail);
    },
  });
  session.start();
  if (s && !stopUplinkWatch)
    stopUplinkWatch = watchUplink(
      () => (session ? session.pc : null),
      (weak, assessment) => interview.setUplink(weak ? assessment.reasons[0] : null),
      { onSample: followLayers() },
    );
}

function onMessage(msg) {
  if (finished) return;
  switch (msg.type) {
    case 'state':
      route(msg);
      break;
    case 'tick':
      interview.tick(msg);
      break;
    case 'saved':
      interview.saved(msg);
      break;
    case 'completed':
      finish('end');
      break;
    case 'replaced':
      finish('replaced');
      break;
    case 'error':
      console.warn('server error:', msg.message);
      break;
    default:
      break; // e.g. "pong"
  }
}

/** Continue on another node: the page there resumes where this one stopped. */
function moveTo(base) {
  interview.flush();
  finished = true; // the session stopped itself; ignore everything until the page unloads
  const lang = storedLang();
  failover.moveTo(base, lang ? { lang } : {});
}

// ---- routing --------------------------------------------------------------------------------

const consent = createConsentScreen({
  api,
  onDone: (next, err) => {
    if (next) route(next);
    else if (err instanceof ApiError && err.isLinkProblem) showError(err);
  },
});

const device = createDeviceTest({
  api,
  getMode: () => mode,
  ensureMedia,
  ensureSession,
  getLink: () => (session ? session.link : null),
  send: (msg) => !!session && session.send(msg),
  getState: () => state,
  onState: (s) => route(s),
});

const interview = createInterview({ send: (msg) => !!session && session.send(msg) });
watchSignals(
  (msg) => !!session && session.send(msg),
  () => !!session && !!state && state.status === 'in_progress',
);

function route(next) {
  if (finished || !next) return;
  state = next;
  setMode(modeOf(next));
  if (failover) failover.remember(next.alternates);
  if (session && Array.isArray(next.ice_servers)) session.setIceServers(next.ice_servers);
  $('#topbar-job').textContent = next.job_title || '';
  switch (next.status) {
    case 'completed':
      finish('end');
      break;
    case 'declined':
      finish('declined');
      break;
    case 'expired':
    case 'revoked':
      showError(next.status);
      break;
    case 'invited':
    case 'opened':
      consent.render(next);
      showScreen('consent');
      break;
    case 'consented':
    case 'device_checked':
      showScreen('device');
      device.show();
      break;
    case 'in_progress':
      enterInterview(next);
      break;
    default:
      console.warn('unknown status', next.status);
  }
}

async function enterInterview(next) {
  interview.render(next);
  if (currentScreen === 'media') return; // waiting for the candidate to allow the camera again
  showScreen('interview');
  interview.show();
  if (session) return;
  try {
    await ensureMedia(); // nothing to acquire in a text interview
  } catch (err) {
    showMediaProblem(err);
    return;
  }
  ensureSession(stream);
}

function showMediaProblem(err) {
  const reason = err.reason || 'other';
  $('#media-message').textContent = t(modeKey(`camera.${reason}`, mode));
  $('#media-advice').textContent = t(modeKey(`camera.${reason}.advice`, mode));
  showScreen('media');
}

$('#media-retry').addEventListener('click', async () => {
  try {
    await ensureMedia();
  } catch (err) {
    showMediaProblem(err);
    return;
  }
  showScreen('interview');
  interview.show();
  ensureSession(stream);
});

$('#replaced-here').addEventListener('click', () => location.reload());

// ---- page lifecycle -------------------------------------------------------------------------

// Browsers keep audio suspended until the user interacts; any tap enables the level meters.
document.addEventListener('pointerdown', resumeAudio, { capture: true });
document.addEventListener('keydown', resumeAudio, { capture: true });
window.addEventListener('pagehide', () => interview.flush());
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') interview.flush();
});

async function load() {
  showScreen('loading');
  if (!token) {
    showError('nolink');
    return;
  }
  try {
    const s = await api.state();
    if (!storedLang() && s.language) i18n.setLang(s.language);
    route(s);
  } catch (err) {
    showError(err);
  }
}

i18n.apply();
load();
