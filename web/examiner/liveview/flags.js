// The live view's flags timeline: one lane per flag type, a mark per flag placed on the
// media time axis, and the detail (with evidence) of the flag last pointed at.

import { h, button, replace } from '../../common/dom.js';
import { t } from '../../staff/i18n.js';
import { MAX_FLAGS, FLAG_TYPES, mediaTime, qLabel, flagKey, evidenceText, evidenceList, panelHead } from './common.js';

/** The flags timeline over the live view's `model` (its flags and maxT). */
export function flagsPanel(model) {
  const flLanes = h('div', { class: 'fl-lanes' });
  const flEmpty = h('p', { class: 'muted' });
  const flDetail = h('div', { class: 'fl-detail', testid: 'flag-detail', hidden: true, 'aria-live': 'polite' });
  const flAxis = h('div', { class: 'fl-axis', 'aria-hidden': 'true' });
  const flPanel = h('section', { class: 'card panel flags', testid: 'flags-timeline' });

  const laneEls = new Map(); // flag type -> {lane, track}
  const flagEls = new Map(); // key -> button

  function labels() {
    replace(
      flPanel,
      panelHead('ex.fl.title', h('span', { class: 'muted small', text: t('ex.fl.hint') })),
      flEmpty,
      flLanes,
      flAxis,
      flDetail,
    );
    flEmpty.textContent = t('ex.fl.empty');
    for (const [type, lane] of laneEls) lane.label.textContent = t(`flag.${type}`, {}, type);
  }

  function lane(type) {
    let l = laneEls.get(type);
    if (l) return l;
    const label = h('span', { class: 'fl-label', text: t(`flag.${type}`, {}, type) });
    const track = h('div', { class: 'fl-track' });
    const el = h('div', { class: `fl-lane fl-${type}`, dataset: { flag: type } }, label, track);
    l = { el, label, track };
    laneEls.set(type, l);
    // keep lanes in a fixed order
    const order = (x) => {
      const i = FLAG_TYPES.indexOf(x);
      return i < 0 ? 99 : i;
    };
    const after = [...laneEls.entries()]
      .filter(([k]) => k !== type && order(k) > order(type))
      .map(([, v]) => v.el)
      .find((e) => e.parentNode === flLanes);
    flLanes.insertBefore(el, after || null);
    return l;
  }

  function flagLabel(f) {
    const end = f.end_s === null || f.end_s === undefined ? t('ex.fl.open') : mediaTime(f.end_s);
    return `${t(`flag.${f.type}`, {}, f.type)} · ${mediaTime(f.start_s)}–${end}${f.question_index !== null && f.question_index !== undefined ? ` · ${qLabel(f.question_index)}` : ''}`;
  }

  let shownFlag = null;
  function showFlagDetail(f) {
    shownFlag = flagKey(f.type, f.start_s);
    flDetail.hidden = false;
    replace(
      flDetail,
      h('p', { class: 'strong', text: flagLabel(f) }),
      (f.evidence || []).length
        ? evidenceList(f.evidence, 'flag-evidence')
        : h('p', { class: 'muted small', text: t('ex.fl.noEvidence') }),
    );
  }

  function placeFlag(btn, f) {
    const total = Math.max(model.maxT, 1);
    const start = Math.max(0, Number(f.start_s) || 0);
    const end =
      f.end_s === null || f.end_s === undefined ? Math.max(model.maxT, start) : Math.max(Number(f.end_s), start);
    const left = Math.min(100, (start / total) * 100);
    const width = Math.max(0, Math.min(100 - left, ((end - start) / total) * 100));
    btn.style.left = `${left}%`;
    btn.style.width = `${width}%`;
    btn.classList.toggle('narrow', width < 7);
  }

  function drawFlag(key) {
    const f = model.flags.get(key);
    if (!f) return;
    let btn = flagEls.get(key);
    const open = f.end_s === null || f.end_s === undefined;
    if (!btn) {
      btn = button({ class: 'fl-mark', testid: 'flag', dataset: { flag: f.type, key } });
      btn.addEventListener('click', () => showFlagDetail(model.flags.get(key) || f));
      btn.addEventListener('mouseenter', () => showFlagDetail(model.flags.get(key) || f));
      btn.addEventListener('focus', () => showFlagDetail(model.flags.get(key) || f));
      btn.appendChild(h('span', { class: 'fl-chip-text' }));
      lane(f.type).track.appendChild(btn);
      flagEls.set(key, btn);
    }
    btn.classList.toggle('open', open);
    btn.dataset.open = open ? 'true' : 'false';
    const label = flagLabel(f);
    btn.setAttribute('aria-label', label);
    btn.title = [label, ...(f.evidence || []).map(evidenceText)].join('\n');
    btn.firstChild.textContent = `${mediaTime(f.start_s)}${open ? '…' : `–${mediaTime(f.end_s)}`}`;
    placeFlag(btn, f);
    flEmpty.hidden = true;
  }

  function trimFlags() {
    while (model.flags.size > MAX_FLAGS) {
      const oldest = model.flags.keys().next().value;
      model.flags.delete(oldest);
      const btn = flagEls.get(oldest);
      if (btn) btn.remove();
      flagEls.delete(oldest);
    }
  }

  function addFlag(f) {
    const key = flagKey(f.type, f.start_s);
    const prev = model.flags.get(key);
    const merged = prev
      ? {
          ...prev,
          ...f,
          end_s: f.end_s ?? prev.end_s,
          evidence: f.evidence && f.evidence.length ? f.evidence : prev.evidence,
        }
      : f;
    if (prev) model.flags.delete(key); // re-insert: most recently touched last
    model.flags.set(key, merged);
    trimFlags();
    drawFlag(key);
  }

  function drawFlags() {
    for (const btn of flagEls.values()) btn.remove();
    flagEls.clear();
    for (const l of laneEls.values()) l.el.remove();
    laneEls.clear();
    for (const key of model.flags.keys()) drawFlag(key);
    flEmpty.hidden = model.flags.size > 0;
    const shown = shownFlag && model.flags.get(shownFlag);
    if (shown) showFlagDetail(shown);
    else {
      flDetail.hidden = true;
      shownFlag = null;
    }
    drawAxis();
  }

  function drawAxis() {
    const total = Math.max(model.maxT, 1);
    const ticks = 5;
    replace(
      flAxis,
      Array.from({ length: ticks + 1 }, (_, i) => {
        const tick = h('span', { class: 'fl-tick', text: mediaTime((total * i) / ticks) });
        tick.style.left = `${(i / ticks) * 100}%`;
        return tick;
      }),
    );
  }

  function relayoutFlags() {
    for (const [key, btn] of flagEls) {
      const f = model.flags.get(key);
      if (f) placeFlag(btn, f);
    }
    drawAxis();
  }

  return { flPanel, flagEls, labels, trimFlags, addFlag, drawFlags, drawAxis, relayoutFlags };
}
