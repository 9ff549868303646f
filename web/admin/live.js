// Staff live socket `/ws?token=…`: subscribe to topics (`job:<id>`, `org`), apply
// `snapshot` / `status` messages, reconnect with exponential back-off and resubscribe.

const MIN_DELAY = 500;
const MAX_DELAY = 15000;
const STABLE_MS = 5000; // a connection that lived this long resets the back-off

export class LiveClient {
  /**
   * @param {{token: () => string|null, onState?: (state: string) => void, onAuthProblem?: () => void}} opts
   */
  constructor({ token, onState = () => {}, onAuthProblem = () => {} }) {
    this.tokenFn = token;
    this.onState = onState;
    this.onAuthProblem = onAuthProblem;
    this.topics = new Map(); // topic -> {handlers:Set, seq:number, counts:object|null}
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.running = false;
    this.openedAt = 0;
    this.state = 'idle';
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
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try { ws.close(1000, 'logout'); } catch { /* ignore */ }
    }
    this.topics.clear();
    this._setState('idle');
  }

  /** Subscribe a handler to a topic; returns an unsubscribe function.
   *  handler(msg) gets every snapshot/status message for the topic (msg.counts is the
   *  full count map). If counts are already known the handler is called at once with a
   *  synthetic `{type:"snapshot", cached:true}` message. */
  subscribe(topic, handler) {
    let entry = this.topics.get(topic);
    const isNew = !entry;
    if (!entry) {
      entry = { handlers: new Set(), seq: -1, counts: null };
      this.topics.set(topic, entry);
    }
    entry.handlers.add(handler);
    if (entry.counts) {
      try { handler({ type: 'snapshot', topic, seq: entry.seq, counts: entry.counts, cached: true }); } catch (e) { console.error(e); }
    }
    if (isNew) this._sendSubscribe(topic);
    return () => {
      const cur = this.topics.get(topic);
      if (!cur) return;
      cur.handlers.delete(handler);
      // The protocol has no unsubscribe message: keep the topic (and its counts) so a
      // later view gets the cached counts immediately; messages with no handler are ignored.
    };
  }

  _sendSubscribe(topic) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: 'subscribe', topic }));
    }
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    try { this.onState(state); } catch (e) { console.error(e); }
  }

  _url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/ws?token=${encodeURIComponent(this.tokenFn() || '')}`;
  }

  _connect() {
    if (!this.running) return;
    const token = this.tokenFn();
    if (!token) { this._setState('idle'); return; }
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
        entry.seq = -1; // a fresh snapshot follows
        ws.send(JSON.stringify({ type: 'subscribe', topic }));
      }
    });
    ws.addEventListener('message', (ev) => {
      if (this.ws !== ws) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      this._handle(msg);
    });
    ws.addEventListener('close', (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!this.running) return;
      // An explicit auth close, or a handshake that never opened (e.g. HTTP 401 on upgrade):
      // let the app re-check the token with a REST call (a 401 there shows the login page).
      if (ev.code === 4401 || ev.code === 4403 || ev.code === 1008 || !this.openedAt) this.onAuthProblem(ev.code);
      if (this.openedAt && Date.now() - this.openedAt >= STABLE_MS) this.attempt = 0;
      this.openedAt = 0;
      this._scheduleReconnect();
    });
    // 'error' is always followed by 'close'.
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

  _handle(msg) {
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'error') {
      console.warn('live socket error:', msg.message || msg);
      return;
    }
    if (msg.type !== 'snapshot' && msg.type !== 'status') return;
    const entry = this.topics.get(msg.topic);
    if (!entry) return;
    const seq = typeof msg.seq === 'number' ? msg.seq : null;
    if (msg.type === 'status' && seq !== null && seq <= entry.seq) return; // stale / duplicate
    if (seq !== null) entry.seq = msg.type === 'snapshot' ? seq : Math.max(entry.seq, seq);
    if (msg.counts && typeof msg.counts === 'object') entry.counts = { ...msg.counts };
    if (this.attempt && this.state === 'open') this.attempt = 0;
    for (const handler of entry.handlers) {
      try { handler(msg); } catch (e) { console.error(e); }
    }
  }
}
