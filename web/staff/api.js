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
  set(s) {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  },
  update(patch) {
    const s = this.get();
    if (s) this.set({ ...s, ...patch });
  },
  clear() {
    sessionStorage.removeItem(SESSION_KEY);
  },
  token() {
    return this.get()?.token || null;
  },
};

/** The role of a staff session (or of its user), or '' when unknown. */
export const roleOf = (s) => (s && (s.role || (s.user && s.user.role))) || '';

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error)) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.error) || (status === 0 ? 'network' : `http_${status}`);
    this.errors = body && Array.isArray(body.errors) ? body.errors : [];
    this.body = body;
  }
}

let unauthorizedHandler = () => {};
/** Called (once per 401) after the session was cleared. */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

async function request(method, path, { json, form, query, auth = true, headers: extra = {} } = {}) {
  let url = path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') qs.set(k, v);
    const s = qs.toString();
    if (s) url += `?${s}`;
  }
  const headers = { Accept: 'application/json', ...extra };
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
    throw new ApiError(0, { error: 'network', message: String((e && e.message) || e) });
  }
  const data = res.status === 204 ? null : parseBody(res.headers.get('Content-Type') || '', await res.text());
  if (res.status === 401 && auth) {
    session.clear();
    unauthorizedHandler();
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function parseBody(ctype, text) {
  if (!text) return null;
  if (ctype.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }
  return { message: text.slice(0, 300) };
}

/**
 * POST a multipart form with upload progress (fetch has none): XMLHttpRequest, the same
 * errors and 401 handling as `request`. onProgress(loadedBytes, totalBytes) while sending.
 */
function upload(path, form, { headers = {}, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('Accept', 'application/json');
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    const token = session.token();
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    if (onProgress) {
      xhr.upload.addEventListener('progress', (ev) => {
        if (ev.lengthComputable) onProgress(ev.loaded, ev.total);
      });
    }
    const fail = () => reject(new ApiError(0, { error: 'network', message: 'the upload did not reach the server' }));
    xhr.addEventListener('error', fail);
    xhr.addEventListener('abort', fail);
    xhr.addEventListener('load', () => {
      const data = xhr.status === 204 ? null : parseBody(xhr.getResponseHeader('Content-Type') || '', xhr.responseText);
      if (xhr.status === 401) {
        session.clear();
        unauthorizedHandler();
      }
      if (xhr.status < 200 || xhr.status >= 300) reject(new ApiError(xhr.status, data));
      else resolve(data);
    });
    xhr.send(form);
  });
}

/** GET a bearer-protected file as a Blob (saved by the caller through an object URL). */
async function fetchBlob(path) {
  const headers = {};
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { headers, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, { error: 'network', message: String((e && e.message) || e) });
  }
  if (!res.ok) {
    const data = parseBody(res.headers.get('Content-Type') || '', await res.text());
    if (res.status === 401) {
      session.clear();
      unauthorizedHandler();
    }
    throw new ApiError(res.status, data);
  }
  return res.blob();
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
  // résumé intake (HR and admins)
  uploadResumes: (jobId, files, onProgress) => {
    const fd = new FormData();
    for (const f of files) fd.append('files', f, f.name);
    return upload(`/api/jobs/${enc(jobId)}/resumes`, fd, { headers: { Prefer: 'respond-async' }, onProgress });
  },
  resumeBatch: (jobId, batchId) => request('GET', `/api/jobs/${enc(jobId)}/resume-batches/${enc(batchId)}`),
  candidates: (jobId) => request('GET', `/api/jobs/${enc(jobId)}/candidates`),
  candidate: (id) => request('GET', `/api/candidates/${enc(id)}`),
  inviteCandidate: (id) => request('POST', `/api/candidates/${enc(id)}/invite`),
  setCandidateStatus: (id, status) => request('PUT', `/api/candidates/${enc(id)}/status`, { json: { status } }),
  eraseCandidate: (id) => request('DELETE', `/api/candidates/${enc(id)}`),
  resumeFile: (id) => fetchBlob(`/api/candidates/${enc(id)}/resume`),
  screening: (jobId) => request('GET', `/api/jobs/${enc(jobId)}/screening`),
  saveScreening: (jobId, body) => request('PUT', `/api/jobs/${enc(jobId)}/screening`, { json: body }),
  // training catalogue (development recommendations in reports)
  trainingCatalogue: () => request('GET', '/api/training/catalogue'),
  importTraining: (file) => request('PUT', '/api/training/catalogue', { form: fileForm(file) }),
};
