// Timing helpers: sleep, debounce, capped exponential back-off, mm:ss formatting.

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reconnect delay for attempt n (0-based): 1 s, 2 s, 4 s, 8 s, then 10 s forever. */
export function backoffMs(attempt, { baseMs = 1000, maxMs = 10000 } = {}) {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
}

/**
 * Debounce `fn` by `waitMs`. The returned function has `.flush()` (run now if pending)
 * and `.cancel()`.
 */
export function debounce(fn, waitMs) {
  let timer = null;
  let lastArgs = null;
  const run = () => {
    timer = null;
    const args = lastArgs;
    lastArgs = null;
    fn(...args);
  };
  const debounced = (...args) => {
    lastArgs = args;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(run, waitMs);
  };
  debounced.flush = () => {
    if (timer !== null) {
      clearTimeout(timer);
      run();
    }
  };
  debounced.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    lastArgs = null;
  };
  debounced.pending = () => timer !== null;
  return debounced;
}

/** Seconds → "mm:ss" (negative and fractional values are clamped/rounded up). */
export function formatMmSs(seconds) {
  const s = Math.max(0, Math.ceil(Number(seconds) || 0));
  const mm = Math.floor(s / 60);
  const ss = s % 60;
  return `${String(mm).padStart(2, '0')}:${String(ss).padStart(2, '0')}`;
}

/** Median of a list of numbers (NaN for an empty list). */
export function median(values) {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
