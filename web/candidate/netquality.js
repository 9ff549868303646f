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
 * verdict changes (with hysteresis). Returns a function that stops watching.
 */
export function watchUplink(getPeer, onChange, everyMs = SAMPLE_EVERY_MS) {
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
