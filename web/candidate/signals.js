// Integrity signals for the examiner: tab hidden, window blur, leaving full screen, paste.
// They are evidence for debounced flags on the server; the candidate is never blocked.
// Only the kind and, for a paste, its length are sent (never the pasted text).

/**
 * @param {(msg: object) => boolean} send  sends on the control socket when it is open
 * @param {() => boolean} active           true while the interview is running
 */
export function watchSignals(send, active) {
  const signal = (kind, detail = '') => {
    if (active()) send({ type: 'signal', kind, detail: String(detail) });
  };
  document.addEventListener('visibilitychange', () => {
    signal(document.visibilityState === 'hidden' ? 'tab_hidden' : 'tab_visible');
  });
  window.addEventListener('blur', () => signal('blur'));
  window.addEventListener('focus', () => signal('focus'));
  document.addEventListener('fullscreenchange', () => {
    signal(document.fullscreenElement ? 'fullscreen_enter' : 'fullscreen_exit');
  });
  document.addEventListener(
    'paste',
    (event) => {
      const text = event.clipboardData ? event.clipboardData.getData('text') : '';
      signal('paste', text.length);
    },
    { capture: true },
  );
}
