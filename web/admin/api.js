// Staff REST client (docs/protocol.md). Bearer token lives in sessionStorage.

const SESSION_KEY = 'il.admin.session';

export const session = {
  get() {
    try {
      const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
      if (!s || !s.token) return null;
      if (s.expires_at && Date.parse(s.expires_at) <= Date.now()) {
        sessionStorage.removeItem(SESSION_KEY);
        return null;
      }
      return s;
    } catch {
      return null;
    }
  },
  set(s) { sessionStorage.setItem(SESSION_KEY, JSON.stringify(s)); },
  update(patch) {
    const s = this.get();
    if (s) this.set({ ...s, ...patch });
  },
  clear() { sessionStorage.removeItem(SESSION_KEY); },
  token() { return this.get()?.token || null; },
};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error)) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.error) || (status === 0 ? 'network' : `http_${status}`);
    this.errors = (body && Array.isArray(body.errors)) ? body.errors : [];
    this.body = body;
  }
}

let unauthorizedHandler = () => {};
/** Called (once per 401) after the session was cleared. */
export function onUnauthorized(fn) { unauthorizedHandler = fn; }

async function request(method, path, { json, form, query, auth = true } = {}) {
  let url = path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') qs.set(k, v);
    const s = qs.toString();
    if (s) url += `?${s}`;
  }
  const headers = { Accept: 'application/json' };
  const token = session.token();
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) {
    body = form; // browser sets the multipart boundary
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, { error: 'network', message: String(e && e.message || e) });
  }
  let data = null;
  const ctype = res.headers.get('Content-Type') || '';
  if (res.status !== 204) {
    if (ctype.includes('json')) {
      try { data = await res.json(); } catch { data = null; }
    } else {
      const text = await res.text();
      data = text ? { message: text.slice(0, 300) } : null;
    }
  }
  if (res.status === 401 && auth) {
    session.clear();
    unauthorizedHandler();
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function fileForm(file) {
  const fd = new FormData();
  fd.append('file', file, file.name);
  return fd;
}

const enc = encodeURIComponent;

export const API = {
  login: (username, password) => request('POST', '/api/auth/login', { json: { username, password }, auth: false }),
  me: () => request('GET', '/api/me'),
  competencies: () => request('GET', '/api/competencies'),
  questions: (query = {}) => request('GET', '/api/questions', { query }),
  importQuestions: (file) => request('POST', '/api/questions/import', { form: fileForm(file) }),
  analyze: (description) => request('POST', '/api/jobs/analyze', { json: { description } }),
  jobs: () => request('GET', '/api/jobs'),
  createJob: (job) => request('POST', '/api/jobs', { json: job }),
  job: (id) => request('GET', `/api/jobs/${enc(id)}`),
  jobInterviews: (id) => request('GET', `/api/jobs/${enc(id)}/interviews`),
  invite: (id, body) => request('POST', `/api/jobs/${enc(id)}/invitations`, { json: body }),
  bulkInvite: (id, file) => request('POST', `/api/jobs/${enc(id)}/invitations/bulk`, { form: fileForm(file) }),
  interview: (id) => request('GET', `/api/interviews/${enc(id)}`),
  revoke: (id) => request('POST', `/api/interviews/${enc(id)}/revoke`),
  jobStats: (id) => request('GET', `/api/jobs/${enc(id)}/stats`),
  pending: (id) => request('GET', `/api/jobs/${enc(id)}/pending`),
  remind: (id) => request('POST', `/api/jobs/${enc(id)}/reminders`, { json: {} }),
  outbox: (id) => request('GET', `/api/jobs/${enc(id)}/reminders`),
  users: (role) => request('GET', '/api/users', { query: role ? { role } : {} }),
  assignExaminers: (id, examiners) => request('PUT', `/api/jobs/${enc(id)}/examiners`, { json: { examiners } }),
  report: (id) => request('GET', `/api/interviews/${enc(id)}/report`),
  orgSettings: () => request('GET', '/api/org/settings'),
  saveOrgSettings: (body) => request('PUT', '/api/org/settings', { json: body }),
};
