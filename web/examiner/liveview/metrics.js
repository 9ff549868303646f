// The live view's face and delivery panels (or, when the interview's mode has no face or no
// speech, a note that they do not apply).

import { h, replace } from '../../common/dom.js';
import { t } from '../../staff/i18n.js';
import { FACE_SAMPLES, pct, hasFace, hasSpeech } from './common.js';

/** The face and delivery panels over the live view's `model` (face, faceRing, delivery, content). */
export function metricsPanels(model) {
  const facePanel = h('section', { class: 'card panel face', testid: 'face-strip' });
  const delPanel = h('section', { class: 'card panel delivery', testid: 'delivery' });
  const faceCells = Array.from({ length: FACE_SAMPLES }, () => h('span', { class: 'cell' }));
  const faceNums = {
    faces: h('strong', { testid: 'face-count' }),
    eye: h('strong', { testid: 'facing-screen' }),
    away: h('strong', { testid: 'looking-away' }),
  };
  const delNums = {
    rate: h('strong', { testid: 'speaking-rate' }),
    pause: h('strong'),
    longp: h('strong'),
    fillers: h('strong', { testid: 'fillers' }),
    coverage: h('strong'),
  };

  /** A panel that has nothing to show in this mode says so instead of showing empty numbers. */
  function notApplicable(panel, titleKey, textKey, testid) {
    panel.dataset.applicable = 'false';
    replace(
      panel,
      h('h2', { class: 'card-title', text: t(titleKey) }),
      h('p', { class: 'muted small na', testid, text: t(textKey) }),
    );
  }

  /** Build the panels for interview mode `m`. */
  function applyMode(m) {
    if (hasFace(m)) faceLabels();
    else notApplicable(facePanel, 'ex.face.title', `ex.face.na.${m}`, 'face-na');
    if (hasSpeech(m)) deliveryLabels();
    else notApplicable(delPanel, 'ex.del.title', 'ex.del.na.text', 'delivery-na');
  }

  /** A panel of labelled numbers (`nums`: [label key, value element]), then `more`. */
  function numbersPanel(panel, titleKey, nums, ...more) {
    panel.dataset.applicable = 'true';
    replace(
      panel,
      h('h2', { class: 'card-title', text: t(titleKey) }),
      h(
        'dl',
        { class: 'nums' },
        nums.map(([key, value]) => h('div', {}, h('dt', { text: t(key) }), h('dd', {}, value))),
      ),
      ...more,
    );
  }

  function faceLabels() {
    numbersPanel(
      facePanel,
      'ex.face.title',
      [
        ['ex.face.faces', faceNums.faces],
        ['ex.face.facing', faceNums.eye],
        ['ex.face.away', faceNums.away],
      ],
      h(
        'div',
        {
          class: 'face-cells',
          role: 'img',
          'aria-label': t('ex.face.strip', { n: FACE_SAMPLES }),
          title: t('ex.face.strip', { n: FACE_SAMPLES }),
        },
        faceCells,
      ),
    );
  }

  function deliveryLabels() {
    numbersPanel(delPanel, 'ex.del.title', [
      ['ex.del.rate', delNums.rate],
      ['ex.del.pause', delNums.pause],
      ['ex.del.long', delNums.longp],
      ['ex.del.fillers', delNums.fillers],
      ['ex.del.coverage', delNums.coverage],
    ]);
  }

  function drawFace() {
    const f = model.face;
    faceNums.faces.textContent = f ? String(f.faces) : t('ex.none');
    faceNums.eye.textContent = f ? pct(f.facing_screen_ratio ?? (f.facing_screen ? 1 : 0)) : t('ex.none');
    faceNums.away.textContent = f ? pct(f.looking_away_ratio ?? (f.looking_away ? 1 : 0)) : t('ex.none');
    const ring = model.faceRing;
    for (let i = 0; i < FACE_SAMPLES; i += 1) {
      const cls = ring[ring.length - FACE_SAMPLES + i];
      faceCells[i].className = `cell${cls ? ` ${cls}` : ''}`;
    }
  }

  function drawDelivery() {
    const d = model.delivery;
    if (d) {
      const unit = d.rate_unit === 'cpm' ? t('ex.del.cpm') : t('ex.del.wpm');
      delNums.rate.textContent = `${Math.round(Number(d.speaking_rate) || 0)} ${unit}`;
      delNums.pause.textContent = pct(d.pause_ratio);
      delNums.longp.textContent = String(d.long_pauses ?? t('ex.none'));
      delNums.fillers.textContent = `${d.fillers ?? 0}${t('ex.del.fillerRatio', { p: pct(d.filler_ratio) })}`;
    } else {
      for (const k of ['rate', 'pause', 'longp', 'fillers']) delNums[k].textContent = t('ex.none');
    }
    delNums.coverage.textContent = model.content ? pct(model.content.coverage) : t('ex.none');
  }

  return { facePanel, delPanel, applyMode, drawFace, drawDelivery };
}
