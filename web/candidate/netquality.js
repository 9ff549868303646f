// The candidate's uplink while the interview runs, from the browser's own statistics: the
// upload the connection can carry (the browser's estimate, fed by the server's feedback), the
// round trip and the loss the server reports. A weak uplink shows a note with advice. The answer is still recorded (the browser
// lowers its video quality, the server conceals lost audio), so the note reassures; it never
// blocks anything.

export const SAMPLE_EVERY_MS = 2000;
export const WEAK_UPLOAD_KBPS = 200; // the browser's estimate of what it can send
export const HIGH_RTT_MS = 500;
export const HIGH_LOSS = 0.05; // share of packets the server reports lost
export const WEAK_AFTER = 2; // samples in a row before the note shows
export const GOOD_AFTER = 3; // and before it goes

/**
 * What a getStats() report says about the uplink: {weak, reasons: [..], uploadKbps, rttMs, loss}.
 * `report` is any iterable of stats objects (an RTCStatsReport's values()).
 */
export function assessUplink(report) {
  let uploadKbps = null;
  let rttMs = null;
  let loss = 0;
  for (const s of report) {
    if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
      if (typeof s.availableOutgoingBitrate === 'number') uploadKbps = s.availableOutgoingBitrate / 1000;
      if (typeof s.currentRoundTripTime === 'number') rttMs = s.currentRoundTripTime * 1000;
    } else if (s.type === 'remote-inbound-rtp' && typeof s.fractionLost === 'number') {
      loss = Math.max(loss, s.fractionLost);
    }
  }
  const reasons = []; // the most specific first: loss also makes the browser send less
  if (loss > HIGH_LOSS) reasons.push('loss');
  if (rttMs !== null && rttMs > HIGH_RTT_MS) reasons.push('delay');
  if (uploadKbps !== null && uploadKbps < WEAK_UPLOAD_KBPS) reasons.push('upload');
  return { weak: reasons.length > 0, reasons, uploadKbps, rttMs, loss };
}

/**
 * Sample `getPeer()` every SAMPLE_EVERY_MS and call `onChange(weak, assessment)` when the
 * verdict changes (with hysteresis); `onSample(pc, assessment)`, if given, sees every sample of a
 * connected peer (one getStats() a sample for every consumer). Returns a function that stops
 * watching.
 */
export function watchUplink(getPeer, onChange, { onSample = null, everyMs = SAMPLE_EVERY_MS } = {}) {
  let weak = false;
  let streak = 0;
  let stopped = false;
  async function sample() {
    const pc = getPeer();
    if (!pc || pc.connectionState !== 'connected') {
      streak = 0;
      return;
    }
    let assessment;
    try {
      assessment = assessUplink((await pc.getStats()).values());
    } catch {
      return; // closed meanwhile
    }
    if (stopped) return;
    if (onSample) onSample(pc, assessment);
    streak = assessment.weak === weak ? 0 : streak + 1;
    if (streak >= (weak ? GOOD_AFTER : WEAK_AFTER)) {
      weak = !weak;
      streak = 0;
      onChange(weak, assessment);
    }
  }
  const timer = setInterval(sample, everyMs);
  return () => {
    stopped = true;
    clearInterval(timer);
    if (weak) onChange(false, null);
  };
}

// VP8 temporal layers while the uplink has room. In two layers (L1T2) every other frame goes to
// an upper layer that the base layer never refers to: the server decodes only the base layer for
// analysis (half the frames, the largest part of its video cost) and records every frame.
// The page starts in one layer and asks for two only once the browser's own estimate of its
// upload has stayed high for a while: started in two layers on a 150 kbit/s uplink, the video
// nearly stopped for its first ten seconds in 2 of 13 test runs (never in one layer). When the
// estimate falls, it goes back to one layer. Browsers that cannot switch keep one layer.

export const LAYERED_MODE = 'L1T2';
export const SINGLE_MODE = 'L1T1';
export const LAYERS_FROM_KBPS = 800; // the upload estimate that earns two layers ...
export const LAYERS_AFTER = 3; // ... in this many samples in a row (6 s)
export const SINGLE_BELOW_KBPS = 400; // back to one layer below this ...
export const SINGLE_AFTER = 1; // ... at once

/** Whether the video should be in two layers, given the current choice and upload estimate. */
export function wantsLayers(layered, uploadKbps) {
  if (uploadKbps === null) return layered;
  return layered ? uploadKbps >= SINGLE_BELOW_KBPS : uploadKbps >= LAYERS_FROM_KBPS;
}

/** The peer's VP8 video sender, or null (no video, or another codec: the server reads VP8 layers). */
function vp8Sender(pc) {
  const sender = pc.getSenders().find((s) => s.track && s.track.kind === 'video');
  if (!sender) return null;
  const codec = (sender.getParameters().codecs || [])[0];
  return codec && codec.mimeType.toLowerCase() === 'video/vp8' ? sender : null;
}

/** Ask `sender` for `mode`; false if the browser refuses. */
async function setMode(sender, mode) {
  const params = sender.getParameters();
  const first = (params.encodings || [])[0];
  if (!first) return false;
  if (first.scalabilityMode === mode) return true;
  first.scalabilityMode = mode;
  try {
    await sender.setParameters(params);
    return true;
  } catch (err) {
    console.warn('video layers not switched:', err);
    return false;
  }
}

/**
 * A sample consumer for watchUplink: switches the peer's video between one and two layers (with
 * hysteresis). A new peer (a reconnect) starts again from one layer.
 */
export function followLayers() {
  let pc = null;
  let layered = false;
  let streak = 0;
  let switching = false;
  let unsupported = false;
  return async (current, assessment) => {
    if (current !== pc) {
      pc = current;
      layered = false;
      streak = 0;
    }
    if (unsupported || switching) return;
    const sender = vp8Sender(pc);
    if (!sender) return;
    streak = wantsLayers(layered, assessment.uploadKbps) === layered ? 0 : streak + 1;
    if (streak < (layered ? SINGLE_AFTER : LAYERS_AFTER)) return;
    streak = 0;
    switching = true;
    try {
      if (await setMode(sender, layered ? SINGLE_MODE : LAYERED_MODE)) layered = !layered;
      else unsupported = true;
    } finally {
      switching = false;
    }
  };
}
