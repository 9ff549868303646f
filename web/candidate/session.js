// The live connection for the whole interview: control socket first, then a WebRTC peer
// connection carrying the (one, long-lived) local camera+mic stream. Reconnects forever with
// back-off while the page is open; aiortc has no ICE restart, so every reconnect is a NEW
// RTCPeerConnection negotiated over HTTP. When this node is full (503 "busy" naming an
// alternate) or stops answering, the session ends with onFatal("move", baseUrl) instead and
// the page goes to that node (failover.js).
// A written (text-mode) interview has no stream: the control socket alone is the link, no
// RTCPeerConnection is ever created, and the server's clock runs while the socket is open.
import { ApiError } from './api.js';
import { ControlSocket } from './control.js';
import { createPeer, negotiate, closePeer } from './rtc.js';
import { backoffMs, sleep } from '../common/timing.js';

export const CONNECT_TIMEOUT_MS = 20000; // offer sent → pc "connected", else retry
export const DISCONNECT_GRACE_MS = 2000; // "disconnected" often heals by itself; wait this long first
export const STATE_CHECK_TIMEOUT_MS = 8000; // GET /state before a reconnect; no answer = node unreachable
export const UNREACHABLE_AFTER = 2; // consecutive unanswered state checks before moving to an alternate
export const MAX_RETRY_AFTER_MS = 60000; // cap on a 503's retry_after_s
export const FAILING_AFTER = 2; // failed attempts in a row before the page says the connection fails
const TERMINAL = new Set(['completed', 'declined', 'expired', 'revoked']);
const NO_FAILOVER = { remember() {}, pick: () => null, alternates: [] };

class FatalError extends Error {
  constructor(kind, detail) {
    super(kind);
    this.kind = kind; // "link" (ApiError) | "status" (CandidateState) | "move" (base URL) in detail
    this.detail = detail;
  }
}

export class Session {
  /**
   * @param {object} o
   * @param {ReturnType<import("./api.js").createApi>} o.api
   * @param {string} o.token
   * @param {MediaStream|null} o.stream  null: text mode, no media connection at all
   * @param {RTCIceServer[]} [o.iceServers]
   * @param {ReturnType<import("./failover.js").createFailover>} [o.failover]  other nodes to move to
   * @param {(msg: object) => void} [o.onMessage]   every control-socket message
   * @param {(link: object) => void} [o.onLinkChange]
   * @param {() => void} [o.onSocketOpen]           after each (re)connect of the socket
   * @param {(kind: string, detail: any) => void} [o.onFatal]  link unusable / interview over / move
   */
  constructor({
    api,
    token,
    stream,
    iceServers = [],
    failover = NO_FAILOVER,
    onMessage,
    onLinkChange,
    onSocketOpen,
    onFatal,
  }) {
    this.api = api;
    this.token = token;
    this.stream = stream;
    this.iceServers = iceServers;
    this.failover = failover;
    this.onMessage = onMessage || (() => {});
    this.onLinkChange = onLinkChange || (() => {});
    this.onSocketOpen = onSocketOpen || (() => {});
    this.onFatal = onFatal || (() => {});
    this.socket = null;
    this.pc = null;
    this.stopped = false;
    this.started = false;
    this.attempt = 0;
    this.failures = 0; // connection attempts that failed since the last success
    this.everConnected = false;
    this.lastError = null;
    this.unanswered = 0; // consecutive state checks that got no HTTP answer at all
    this.disconnectedSince = 0;
    this.waiters = new Set();
    this.lastLinkKey = '';
  }

  /** {socket: bool, rtc: RTCPeerConnectionState|"none", up: bool, failures, everConnected, errorStatus} */
  get link() {
    const rtc = this.pc ? this.pc.connectionState : 'none';
    const socket = !!this.socket && this.socket.isOpen;
    const up = socket && (!this.stream || rtc === 'connected');
    const errorStatus = this.lastError instanceof ApiError ? this.lastError.status : null;
    return { socket, rtc, up, failures: this.failures, everConnected: this.everConnected, errorStatus };
  }

  setIceServers(list) {
    if (Array.isArray(list)) this.iceServers = list;
  }

  start() {
    if (this.started) return;
    this.started = true;
    this.loop();
  }

  stop() {
    this.stopped = true;
    closePeer(this.pc);
    this.pc = null;
    if (this.socket) this.socket.close();
    this.socket = null;
    this.changed();
  }

  /** Send on the control socket; false if it is not open right now. */
  send(msg) {
    return !!this.socket && this.socket.send(msg);
  }

  // ---- internals -------------------------------------------------------------------------

  changed() {
    for (const w of [...this.waiters]) w();
    const link = this.link;
    const key = `${link.socket}|${link.rtc}|${link.failures}|${this.stopped}`;
    if (key !== this.lastLinkKey) {
      this.lastLinkKey = key;
      this.onLinkChange(link);
    }
  }

  /** Wait until check() returns a non-undefined value (returned) or throws; re-checked on changes. */
  waitFor(check, timeoutMs = 0) {
    return new Promise((resolve, reject) => {
      let timer = null;
      const waiter = () => {
        let out;
        try {
          out = check();
        } catch (err) {
          finish();
          reject(err);
          return;
        }
        if (out !== undefined) {
          finish();
          resolve(out);
        }
      };
      const finish = () => {
        this.waiters.delete(waiter);
        if (timer) clearTimeout(timer);
      };
      this.waiters.add(waiter);
      if (timeoutMs) {
        timer = setTimeout(() => {
          finish();
          reject(new Error('timed out'));
        }, timeoutMs);
      }
      waiter();
    });
  }

  async loop() {
    while (!this.stopped) {
      try {
        if (this.failures > 0 || this.everConnected) await this.checkState();
        if (!this.socket || !this.socket.isOpen) await this.openSocket();
        if (this.stream) await this.connectPeer();
        if (this.stopped) break;
        this.failures = 0;
        this.attempt = 0;
        this.lastError = null;
        this.everConnected = true;
        this.changed();
        await this.waitFor(() => (this.linkBroken() ? true : undefined));
      } catch (err) {
        if (err instanceof FatalError) {
          this.stop();
          this.onFatal(err.kind, err.detail);
          return;
        }
        this.lastError = err;
        this.failures += 1;
      }
      if (this.stopped) break;
      // Tear down what is broken: always the pc; the socket only if it is gone.
      closePeer(this.pc);
      this.pc = null;
      if (this.socket && !this.socket.isOpen) {
        this.socket.close();
        this.socket = null;
      }
      this.changed();
      await sleep(this.retryDelayMs());
      this.attempt += 1;
    }
  }

  /** A new peer connection, connected (throws when it fails or takes too long). */
  async connectPeer() {
    await this.openPeer();
    await this.waitFor(() => {
      if (this.stopped) return false;
      if (!this.socket || !this.socket.isOpen) throw new Error('control socket closed');
      const s = this.pc ? this.pc.connectionState : 'closed';
      if (s === 'connected') return true;
      if (s === 'failed' || s === 'closed') throw new Error(`peer connection ${s}`);
      return undefined;
    }, CONNECT_TIMEOUT_MS);
  }

  /** Whether the established link needs a reconnect (or the session stopped). */
  linkBroken() {
    if (this.stopped) return true;
    if (!this.socket || !this.socket.isOpen) return true;
    if (!this.stream) return false; // text mode: the control socket is the whole link
    const s = this.pc ? this.pc.connectionState : 'closed';
    if (s === 'failed' || s === 'closed') return true;
    return s === 'disconnected' && Date.now() - this.disconnectedSince >= DISCONNECT_GRACE_MS;
  }

  /** Back-off, but never sooner than a busy server asked for. */
  retryDelayMs() {
    const err = this.lastError;
    const busyMs = err instanceof ApiError ? Math.min(MAX_RETRY_AFTER_MS, err.retryAfterS * 1000) : 0;
    return Math.max(backoffMs(this.attempt), busyMs);
  }

  /**
   * Before reconnecting, ask the server whether the link is still usable and the interview still
   * live. A node that has not answered UNREACHABLE_AFTER times in a row is given up for an alternate.
   */
  async checkState() {
    let state;
    try {
      state = await this.api.state({ timeout: STATE_CHECK_TIMEOUT_MS });
    } catch (err) {
      if (err instanceof ApiError && err.isLinkProblem) throw new FatalError('link', err);
      this.unanswered = err instanceof ApiError && err.isNetwork ? this.unanswered + 1 : 0;
      // Offline is our side's problem: another node would not answer either.
      if (this.unanswered >= UNREACHABLE_AFTER && navigator.onLine !== false) {
        const target = this.failover.pick(this.failover.alternates);
        if (target) throw new FatalError('move', target);
      }
      throw err; // network trouble: just retry later
    }
    this.unanswered = 0;
    if (state && TERMINAL.has(state.status)) throw new FatalError('status', state);
    if (state && Array.isArray(state.ice_servers)) this.iceServers = state.ice_servers;
    if (state) this.failover.remember(state.alternates);
  }

  async openSocket() {
    const socket = new ControlSocket(this.token, {
      onMessage: (msg) => this.onMessage(msg),
      onClose: () => this.changed(),
    });
    this.socket = socket;
    this.changed();
    await socket.open();
    this.changed();
    this.onSocketOpen();
  }

  async openPeer() {
    closePeer(this.pc);
    const pc = createPeer(this.stream, this.iceServers);
    this.pc = pc;
    this.disconnectedSince = 0;
    pc.addEventListener('connectionstatechange', () => {
      if (this.pc !== pc) return;
      if (pc.connectionState === 'disconnected') {
        this.disconnectedSince = Date.now();
        setTimeout(() => this.changed(), DISCONNECT_GRACE_MS + 50);
      } else {
        this.disconnectedSince = 0;
      }
      this.changed();
    });
    this.changed();
    try {
      await negotiate(pc, this.api, { socketOpen: () => !!this.socket && this.socket.isOpen });
    } catch (err) {
      // This node is full: go where it sends us; without an alternate the loop retries here.
      if (err instanceof ApiError && err.status === 503) {
        const target = this.failover.pick([err.body?.alternate]);
        if (target) throw new FatalError('move', target);
      }
      throw err;
    }
  }
}
