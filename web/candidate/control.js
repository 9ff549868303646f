// The candidate control socket /ws/candidate?token=… (docs/protocol.md, "Control socket").

export const PING_EVERY_MS = 15000;

export function controlSocketUrl(token, loc = location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws/candidate?token=${encodeURIComponent(token)}`;
}

/**
 * One WebSocket connection. `open()` resolves once connected (rejects if it closes first).
 * Handlers: onMessage(obj), onClose({code, reason, wasOpen}).
 */
export class ControlSocket {
  constructor(token, { onMessage = () => {}, onClose = () => {} } = {}) {
    this.token = token;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.ws = null;
    this.pingTimer = null;
    this.closedByUs = false;
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  open({ timeoutMs = 10000 } = {}) {
    return new Promise((resolve, reject) => {
      let settled = false;
      let wasOpen = false;
      const ws = new WebSocket(controlSocketUrl(this.token));
      this.ws = ws;
      const timer = setTimeout(() => {
        if (!settled) {
          settled = true;
          reject(new Error('control socket: open timed out'));
          try {
            ws.close();
          } catch {
            /* ignore */
          }
        }
      }, timeoutMs);
      ws.addEventListener('open', () => {
        wasOpen = true;
        clearTimeout(timer);
        this.pingTimer = setInterval(() => this.send({ type: 'ping' }), PING_EVERY_MS);
        if (!settled) {
          settled = true;
          resolve();
        }
      });
      ws.addEventListener('message', (ev) => {
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (msg && typeof msg.type === 'string') this.onMessage(msg);
      });
      ws.addEventListener('close', (ev) => {
        clearTimeout(timer);
        clearInterval(this.pingTimer);
        this.pingTimer = null;
        if (!settled) {
          settled = true;
          reject(new Error(`control socket closed before opening (${ev.code})`));
        }
        if (this.ws === ws && !this.closedByUs) this.onClose({ code: ev.code, reason: ev.reason, wasOpen });
      });
    });
  }

  /** Send a message; returns false if the socket is not open (caller keeps it for later). */
  send(obj) {
    if (!this.isOpen) return false;
    try {
      this.ws.send(JSON.stringify(obj));
      return true;
    } catch {
      return false;
    }
  }

  close() {
    this.closedByUs = true;
    clearInterval(this.pingTimer);
    this.pingTimer = null;
    if (this.ws) {
      try {
        this.ws.close(1000, 'client closing');
      } catch {
        /* ignore */
      }
    }
  }
}
