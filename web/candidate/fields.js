// A textarea kept in sync with the server over the control socket:
// {"type": field, "index", "text"} debounced 400 ms and on blur; the server acks with
// {"type":"saved","field","index"}. Unacknowledged text is re-sent after a reconnect.
import { debounce } from '../common/timing.js';
import { t } from './i18n.js';

export const SAVE_DEBOUNCE_MS = 400;

export function createSyncedField({ textarea, flag, field, send }) {
  let index = null;
  let dirty = false; // edited since the last successful send
  let awaitingAck = false; // sent, no `saved` yet
  let flagKey = '';

  const setFlag = (key) => {
    flagKey = key;
    flag.textContent = key ? t(key) : '';
    flag.dataset.state = key || '';
  };

  const push = () => {
    if (index === null) return;
    if (send({ type: field, index, text: textarea.value })) {
      dirty = false;
      awaitingAck = true;
      setFlag('saving');
    } else {
      dirty = true;
      setFlag('unsaved');
    }
  };
  const debounced = debounce(push, SAVE_DEBOUNCE_MS);

  textarea.addEventListener('input', () => {
    dirty = true;
    setFlag('saving');
    debounced();
  });
  textarea.addEventListener('blur', () => {
    if (dirty) {
      debounced.cancel();
      push();
    }
  });

  return {
    /** Show the text for question `i` (flushing what was typed for the previous one first). */
    load(i, text) {
      if (dirty) {
        debounced.cancel();
        push();
      }
      index = i;
      textarea.value = text || '';
      dirty = false;
      awaitingAck = false;
      setFlag('');
    },
    get index() {
      return index;
    },
    /** Send now if anything is pending (before finish_answer, on page hide). */
    flush() {
      if (dirty) {
        debounced.cancel();
        push();
      }
    },
    /** After a reconnect: send again anything the server may not have stored. */
    resend() {
      if (index !== null && (dirty || awaitingAck)) {
        debounced.cancel();
        push();
      }
    },
    onSaved(msg) {
      if (msg.field !== field || msg.index !== index) return;
      awaitingAck = false;
      if (!dirty) setFlag('saved');
    },
    relabel() {
      setFlag(flagKey);
    },
  };
}
