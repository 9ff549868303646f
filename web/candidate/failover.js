// Moving the candidate to another media node of the same deployment (docs/protocol.md,
// "Candidate"): when this node is full (offer → 503 "busy" naming an `alternate`) or stops
// answering (then the first of the `alternates` the last CandidateState listed). The invitation
// link works on every node, and the page there resumes like after a reload.
//
// Never in a loop: an origin tried in the last TRIED_TTL_MS for this token is skipped.
// sessionStorage belongs to one origin, so the list (and whatever else the page wants to keep,
// such as the language choice) travels in the URL fragment of the move, which is never sent to
// a server, and the page on the new origin takes it over on load.

export const TRIED_TTL_MS = 60000;
const STORAGE_PREFIX = 'interview-live.tried.';
const HASH_PARAM = 'tried';

/** "http://10.0.0.2:8080/" → {base: "http://10.0.0.2:8080", origin}; null unless http(s). */
export function parseBase(value) {
  if (typeof value !== 'string' || !value) return null;
  let url;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return { base: url.origin + url.pathname.replace(/\/+$/, ''), origin: url.origin };
}

/** {origin: epoch ms} from JSON; anything malformed is dropped. */
function parseTried(text) {
  const out = {};
  try {
    const obj = JSON.parse(text || '{}');
    for (const [origin, at] of Object.entries(obj && typeof obj === 'object' ? obj : {})) {
      if (typeof at === 'number' && Number.isFinite(at)) out[origin] = at;
    }
  } catch {
    /* start afresh */
  }
  return out;
}

/**
 * @param {string} token
 * @param {object} [o]
 * @param {Location} [o.loc]
 * @param {Storage|null} [o.storage]   sessionStorage (null: private mode, memory only)
 * @param {() => number} [o.now]
 */
export function createFailover(
  token,
  { loc = location, storage = sessionStorageOrNull(), now = () => Date.now() } = {},
) {
  const key = STORAGE_PREFIX + token;
  let memory = {};
  let alternates = []; // base URLs, best first, from the latest CandidateState
  const carried = {}; // what the page on the previous node passed to moveTo()

  function readTried() {
    let tried = memory;
    if (storage) {
      try {
        tried = parseTried(storage.getItem(key));
      } catch {
        /* storage unavailable: memory only */
      }
    }
    const fresh = {};
    for (const [origin, at] of Object.entries(tried)) if (now() - at < TRIED_TTL_MS) fresh[origin] = at;
    return fresh;
  }

  function writeTried(tried) {
    memory = tried;
    if (!storage) return;
    try {
      storage.setItem(key, JSON.stringify(tried));
    } catch {
      /* memory only */
    }
  }

  // Arriving from another node: take over its list and tidy the address bar.
  const params = new URLSearchParams(loc.hash.replace(/^#/, ''));
  if (params.has(HASH_PARAM)) {
    const tried = readTried();
    for (const [origin, at] of Object.entries(parseTried(params.get(HASH_PARAM)))) {
      tried[origin] = Math.max(at, tried[origin] || 0);
    }
    writeTried(tried);
    for (const [name, value] of params) if (name !== HASH_PARAM) carried[name] = value;
    try {
      history.replaceState(history.state, '', loc.pathname + loc.search);
    } catch {
      /* the fragment just stays */
    }
  }

  return {
    /** Keep `alternates` from a CandidateState (ignored when the message has none). */
    remember(list) {
      if (Array.isArray(list)) alternates = list.filter((v) => parseBase(v) !== null);
    },

    get alternates() {
      return [...alternates];
    },

    /** The first of `candidates` (base URLs) that is another origin and not tried lately, or null. */
    pick(candidates) {
      const tried = readTried();
      for (const value of candidates || []) {
        const target = parseBase(value);
        if (target && target.origin !== loc.origin && !(target.origin in tried)) return target.base;
      }
      return null;
    },

    /** Strings the page on the previous node passed along (empty unless we arrived by a move). */
    get carried() {
      return { ...carried };
    },

    /**
     * Leave for the same invitation on `base`; this origin and that one count as tried.
     * `carry`: strings for the page over there (see `carried`).
     */
    moveTo(base, carry = {}) {
      const target = parseBase(base);
      if (!target) return false;
      const tried = readTried();
      tried[loc.origin] = now();
      tried[target.origin] = now();
      writeTried(tried);
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(carry))
        if (typeof value === 'string' && name !== HASH_PARAM) params.set(name, value);
      params.set(HASH_PARAM, JSON.stringify(tried));
      const hash = params.toString();
      loc.replace(`${target.base}/i/${encodeURIComponent(token)}${loc.search}#${hash}`);
      return true;
    },
  };
}

function sessionStorageOrNull() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
