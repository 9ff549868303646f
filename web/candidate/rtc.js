// One WebRTC peer connection that sends the candidate's camera + microphone to the server.
import { ApiError } from './api.js';
import { sleep } from '../common/timing.js';

export const ICE_GATHER_MAX_MS = 3000;

/** Create a send-only peer connection carrying every track of `stream`. */
export function createPeer(stream, iceServers = []) {
  const pc = new RTCPeerConnection({ iceServers: Array.isArray(iceServers) ? iceServers : [] });
  for (const track of stream.getTracks()) {
    const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    if (track.kind === 'video') preferCodec(transceiver, 'video/VP8');
  }
  return pc;
}

/** Put `mimeType` first in the codec list (the server records VP8/Opus without re-encoding). */
function preferCodec(transceiver, mimeType) {
  try {
    const caps = RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities('video');
    if (!caps || !transceiver.setCodecPreferences) return;
    const wanted = caps.codecs.filter((c) => c.mimeType.toLowerCase() === mimeType.toLowerCase());
    if (!wanted.length) return;
    const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== mimeType.toLowerCase());
    transceiver.setCodecPreferences([...wanted, ...rest]);
  } catch {
    /* keep the browser's default order */
  }
}

/** Resolve when ICE gathering completes, or after `maxMs` (whatever was gathered is used). */
export function waitIceGathering(pc, maxMs = ICE_GATHER_MAX_MS) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, maxMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/**
 * Offer → POST /api/candidate/offer → answer. A 409 means the server does not see our control
 * socket yet: retry shortly while `socketOpen()` says the socket is still open.
 */
export async function negotiate(pc, api, { socketOpen = () => true, maxConflicts = 8 } = {}) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await waitIceGathering(pc);
  if (pc.signalingState === 'closed') throw new Error('peer connection closed during negotiation');
  if (pc.iceGatheringState === 'complete' && !hasUdpCandidate(pc.localDescription.sdp)) {
    // The server speaks ICE over UDP only: a direct UDP path or a TURN relay (which carries UDP
    // over TCP/TLS when it must). Nothing of that was gathered (UDP blocked and the relay
    // refused or unreachable): fail now instead of waiting for the connection timeout.
    throw new Error('no usable ICE candidate (UDP blocked, TURN relay unavailable)');
  }
  let conflicts = 0;
  for (;;) {
    try {
      const answer = await api.offer({ type: 'offer', sdp: pc.localDescription.sdp });
      if (pc.signalingState === 'closed') throw new Error('peer connection closed during negotiation');
      await pc.setRemoteDescription({ type: answer.type || 'answer', sdp: answer.sdp });
      return;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && socketOpen() && conflicts < maxConflicts) {
        conflicts += 1;
        await sleep(250 * conflicts);
        continue;
      }
      throw err;
    }
  }
}

/** Whether an SDP carries at least one UDP candidate (host, server-reflexive or relayed). */
export function hasUdpCandidate(sdp) {
  return /^a=candidate:\S+ \d+ udp /im.test(sdp || '');
}

export function closePeer(pc) {
  if (!pc) return;
  try {
    pc.close();
  } catch {
    /* already closed */
  }
}
