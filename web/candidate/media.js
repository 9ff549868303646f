// Camera + microphone capture (microphone only in an audio interview) and a level meter.

// One capture profile for laptops and phones alike: 640×480 (a phone held upright gives
// 480×640) at 15 frames a second. Enough for examiners and for analysis (5 fps), and half the
// upload and battery of a webcam's usual 30 fps; ideal values, so no camera is refused.
export const MEDIA_CONSTRAINTS = {
  video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15 } },
  audio: true,
};
export const AUDIO_ONLY_CONSTRAINTS = { audio: true };

/**
 * Classify a getUserMedia failure into a reason the UI can explain:
 * "insecure" (no mediaDevices: page not on HTTPS), "blocked" (permission denied),
 * "missing" (no camera/mic), "busy" (used by another app), "other".
 */
export function mediaErrorReason(err) {
  const name = err && err.name;
  if (name === 'InsecureContextError') return 'insecure';
  if (name === 'NotAllowedError' || name === 'PermissionDeniedError' || name === 'SecurityError') return 'blocked';
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') return 'missing';
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') return 'busy';
  return 'other';
}

/**
 * Ask for what the interview mode records: camera and microphone ("video") or the microphone
 * alone ("audio"; the camera is never requested). Throws an Error whose `.reason` is from
 * mediaErrorReason(). A text interview uses no device and must not call this.
 */
export async function getMedia(mode) {
  if (mode !== 'video' && mode !== 'audio') throw new Error(`no media in ${mode} mode`);
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    const err = new Error('mediaDevices unavailable (insecure context?)');
    err.name = 'InsecureContextError';
    err.reason = 'insecure';
    throw err;
  }
  try {
    return await navigator.mediaDevices.getUserMedia(mode === 'audio' ? AUDIO_ONLY_CONSTRAINTS : MEDIA_CONSTRAINTS);
  } catch (err) {
    err.reason = mediaErrorReason(err);
    throw err;
  }
}

export function stopStream(stream) {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
}

/** Attach a stream to a <video muted playsinline autoplay> and start it (ignoring autoplay rejections). */
export function attachVideo(video, stream) {
  if (!video) return;
  if (video.srcObject !== stream) video.srcObject = stream;
  const p = video.play();
  if (p && p.catch) p.catch(() => {});
}

let sharedContext = null;

function audioContext() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return null;
  if (!sharedContext || sharedContext.state === 'closed') sharedContext = new Ctx();
  return sharedContext;
}

/** Resume the shared AudioContext (browsers keep it suspended until a user gesture). */
export function resumeAudio() {
  if (sharedContext && sharedContext.state === 'suspended') sharedContext.resume().catch(() => {});
}

/**
 * Measure the microphone level of `stream`. Calls onLevel(level 0..1) on every animation frame.
 * Returns {stop(), get suspended()}.
 */
export function createLevelMeter(stream, onLevel) {
  const ctx = audioContext();
  const track = stream.getAudioTracks()[0];
  if (!ctx || !track)
    return {
      stop() {},
      get suspended() {
        return false;
      },
      unsupported: true,
    };
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  let raf = 0;
  let stopped = false;
  const loop = () => {
    if (stopped) return;
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
    const rms = Math.sqrt(sum / buf.length);
    // Map RMS to a 0..1 scale that looks lively for normal speech (~0.02-0.2 RMS).
    const level = Math.min(1, Math.max(0, (20 * Math.log10(rms + 1e-8) + 60) / 50));
    onLevel(level, rms);
    raf = requestAnimationFrame(loop);
  };
  raf = requestAnimationFrame(loop);
  return {
    stop() {
      stopped = true;
      cancelAnimationFrame(raf);
      try {
        source.disconnect();
      } catch {
        /* already disconnected */
      }
    },
    get suspended() {
      return ctx.state === 'suspended';
    },
  };
}
