// HTTP client for /api/candidate/* (docs/protocol.md, "Candidate"). The invitation token is the bearer.

/** An HTTP error from the candidate API; status 0 means the network request itself failed. */
export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message || code || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = body;
  }

  /** The link is not usable any more (unknown, revoked, expired): stop and explain. */
  get isLinkProblem() {
    return [401, 403, 404, 410].includes(this.status);
  }

  /** The request never got an HTTP answer (refused, unreachable, timed out). */
  get isNetwork() {
    return this.status === 0;
  }

  /** 503 "busy" (admission control): seconds the server asks us to wait, 0 if it did not say. */
  get retryAfterS() {
    const s = Number(this.body?.retry_after_s);
    return this.status === 503 && Number.isFinite(s) && s > 0 ? s : 0;
  }
}

/** The invitation token from a page URL like /i/{token}. */
export function tokenFromPath(pathname = location.pathname) {
  const m = /\/i\/([^/?#]+)/.exec(pathname);
  return m ? decodeURIComponent(m[1]) : null;
}

export function createApi(token, { timeoutMs = 20000 } = {}) {
  async function request(method, path, { json, body, headers = {}, timeout = timeoutMs } = {}) {
    const init = {
      method,
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', ...headers },
      cache: 'no-store',
      credentials: 'same-origin',
    };
    if (json !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(json);
    } else if (body !== undefined) {
      init.body = body;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeout);
    init.signal = controller.signal;
    let res;
    try {
      res = await fetch(path, init);
    } catch (err) {
      throw new ApiError(0, 'network', String(err && err.message ? err.message : err));
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    const text = await res.text().catch(() => '');
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      throw new ApiError(res.status, data?.error || `http_${res.status}`, data?.message || res.statusText, data);
    }
    return data;
  }

  return {
    state: ({ timeout } = {}) => request('GET', '/api/candidate/state', { timeout }),
    consent: (decision, { mode = 'video', recording, analysis, textVersion }) =>
      request('POST', '/api/candidate/consent', {
        json: { decision, mode, recording: !!recording, analysis: !!analysis, text_version: textVersion },
      }),
    ping: () => request('GET', '/api/candidate/ping', { timeout: 5000 }),
    uploadTest: (bytes) =>
      request('POST', '/api/candidate/upload-test', {
        body: bytes,
        headers: { 'Content-Type': 'application/octet-stream' },
        timeout: 60000,
      }),
    deviceCheck: (measurements) => request('POST', '/api/candidate/device-check', { json: measurements }),
    offer: (desc) => request('POST', '/api/candidate/offer', { json: { type: desc.type, sdp: desc.sdp } }),
  };
}
