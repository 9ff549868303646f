// Staff live socket `/ws?token=…` for the admin/HR and examiner pages (docs/protocol.md).
//
// Subscribe, exponential back-off and resubscribe on reconnect; the client
// passes every message of a topic to its handlers and keeps each topic gap-free:
//  * deltas carry `seq`, +1 per topic; a snapshot carries the seq of the last message it covers;
//  * a delta whose seq skips ahead means something was missed: the client sends
//    `{"type":"resync","topic"}` and buffers deltas until the fresh snapshot arrives, then
//    replays the buffered deltas newer than the snapshot (handlers must apply them idempotently:
//    a delta published while the server built the snapshot may already be in it);
//  * duplicates (seq <= last) are dropped.

const MIN_DELAY = 500;
const MAX_DELAY = 15000;
const STABLE_MS = 5000; // a connection that lived this long resets the back-off
const RESYNC_TIMEOUT_MS = 5000; // ask again if the snapshot does not come
const MAX_BUFFER = 5000; // deltas held while waiting for a snapshot

export class LiveClient {
  /**
   * @param {{token: () => string|null, onState?: (s: string) => void, onAuthProblem?: (code: number) => void}} opts
   */
  constructor({ token, onState = () => {}, onAuthProblem = () => {} }) {
    this.tokenFn = token;
    this.onState = onState;
    this.onAuthProblem = onAuthProblem;
    this.topics = new Map(); // topic -> entry
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.running = false;
    this.openedAt = 0;
    this.state = 'idle';
    this.stats = { resyncs: 0, gaps: 0, snapshots: 0, reconnects: 0 };
  }

  start() {
    if (this.running) return;
    this.running = true;
    this._connect();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = null;
    for (const entry of this.topics.values()) clearTimeout(entry.resyncTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try {
        ws.close(1000, 'logout');
      } catch {
        /* ignore */
      }
    }
    this.topics.clear();
    this._setState('idle');
  }

  /** handler(msg) gets the topic's snapshots and deltas in seq order. Returns an unsubscribe
   *  function. The protocol has no unsubscribe message, so the server keeps sending until
   *  the socket closes; a topic without handlers is ignored (and not resubscribed). */
  subscribe(topic, handler) {
    let entry = this.topics.get(topic);
    if (!entry) {
      entry = { handlers: new Set(), seq: -1, pending: false, buffer: [], resyncTimer: null, last: null };
      this.topics.set(topic, entry);
      this._send({ type: 'subscribe', topic });
      entry.pending = true;
    } else if (entry.last) {
      // Someone else already follows the topic: ask for a fresh snapshot for the newcomer.
      this._resync(topic, entry);
    }
    entry.handlers.add(handler);
    return () => {
      const cur = this.topics.get(topic);
      if (cur) cur.handlers.delete(handler);
    };
  }

  /** Ask for a fresh snapshot of `topic` now. */
  resync(topic) {
    const entry = this.topics.get(topic);
    if (entry) this._resync(topic, entry);
  }

  _send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  _resync(topic, entry) {
    entry.pending = true;
    this.stats.resyncs += 1;
    clearTimeout(entry.resyncTimer);
    if (!this._send({ type: 'resync', topic })) return; // the reconnect resubscribes anyway
    entry.resyncTimer = setTimeout(() => {
      if (entry.pending && this.topics.get(topic) === entry) this._resync(topic, entry);
    }, RESYNC_TIMEOUT_MS);
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    try {
      this.onState(state);
    } catch (e) {
      console.error(e);
    }
  }

  _url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/ws?token=${encodeURIComponent(this.tokenFn() || '')}`;
  }

  _connect() {
    if (!this.running) return;
    if (!this.tokenFn()) {
      this._setState('idle');
      return;
    }
    this._setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new WebSocket(this._url());
    } catch {
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      this.openedAt = Date.now();
      this._setState('open');
      for (const [topic, entry] of this.topics) {
        if (!entry.handlers.size) {
          this.topics.delete(topic);
          continue;
        }
        entry.seq = -1; // a fresh snapshot follows
        entry.pending = true;
        entry.buffer = [];
        ws.send(JSON.stringify({ type: 'subscribe', topic }));
      }
    });
    ws.addEventListener('message', (ev) => {
      if (this.ws !== ws) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this._handle(msg);
    });
    ws.addEventListener('close', (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!this.running) return;
      if (ev.code === 4401 || ev.code === 4403 || ev.code === 1008 || !this.openedAt) this.onAuthProblem(ev.code);
      if (this.openedAt && Date.now() - this.openedAt >= STABLE_MS) this.attempt = 0;
      this.openedAt = 0;
      this.stats.reconnects += 1;
      this._scheduleReconnect();
    });
  }

  _scheduleReconnect() {
    if (!this.running) return;
    this._setState('reconnecting');
    const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** this.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._connect(), delay);
  }

  _emit(entry, msg) {
    for (const handler of entry.handlers) {
      try {
        handler(msg);
      } catch (e) {
        console.error(e);
      }
    }
  }

  _handle(msg) {
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'pong') return;
    if (msg.type === 'error') {
      console.warn('live socket error:', msg.message || msg);
      const entry = msg.topic && this.topics.get(msg.topic);
      if (entry) this._emit(entry, msg);
      return;
    }
    const entry = this.topics.get(msg.topic);
    if (!entry) return;
    const seq = typeof msg.seq === 'number' ? msg.seq : null;
    if (msg.type === 'snapshot') {
      clearTimeout(entry.resyncTimer);
      this.stats.snapshots += 1;
      entry.pending = false;
      entry.seq = seq === null ? -1 : seq;
      entry.last = msg;
      if (this.attempt && this.state === 'open') this.attempt = 0;
      this._emit(entry, msg);
      // Deltas that arrived while the snapshot was being built, in order, newer ones only.
      const held = entry.buffer.filter((m) => m.seq > entry.seq).sort((a, b) => a.seq - b.seq);
      entry.buffer = [];
      for (const m of held) {
        if (entry.pending)
          entry.buffer.push(m); // a gap among them: wait for the next snapshot
        else this._delta(entry, m);
      }
      return;
    }
    if (seq === null) {
      this._emit(entry, msg);
      return;
    }
    if (entry.pending || entry.seq < 0) {
      if (entry.buffer.length < MAX_BUFFER) entry.buffer.push(msg);
      return;
    }
    this._delta(entry, msg);
  }

  _delta(entry, msg) {
    if (msg.seq <= entry.seq) return; // stale / duplicate
    if (msg.seq !== entry.seq + 1) {
      this.stats.gaps += 1;
      entry.buffer = [msg];
      this._resync(msg.topic, entry);
      return;
    }
    entry.seq = msg.seq;
    this._emit(entry, msg);
  }
}
