// A job's screening requirements and personalised follow-ups (GET/PUT /api/jobs/{id}/screening).
// Saving re-matches every candidate of the job; waiting ones who now pass are invited. The
// server validates; its 422 rows are shown next to the field they name.

import { h, button, replace, field, showError, addError } from '../common/dom.js';
import { API } from '../staff/api.js';
import { t } from '../staff/i18n.js';
import {
  card,
  showErrorSummary,
  errorText,
  notice,
  tagInput,
  numberOrNull,
  serverForm,
  serverFormParts,
} from '../staff/ui.js';

export const DEGREES = ['high_school', 'associate', 'bachelor', 'master', 'doctor'];
export const NICE_KINDS = ['skill', 'certificate', 'keyword', 'major', 'degree', 'years'];
export const FOLLOWUP_COUNTS = [0, 1, 2];
const MAX_YEARS = 50;
const MAX_WEIGHT = 10;

export const degreeLabel = (key) => (key ? t(`degree.${key}`, {}, key) : '');

/** Server messages (English) in the page language where the pattern is known. */
export function localMessage(message) {
  const m = String(message || '');
  let r = m.match(/^must be a number from (\d+) to (\d+)$/);
  if (r) return t('v.range', { lo: r[1], hi: r[2] });
  if (m === 'must not be empty') return t('v.notEmpty');
  r = m.match(/^must be at most (\d+) characters$/);
  if (r) return t('v.maxChars', { n: r[1] });
  r = m.match(/^repeats [\w.]+\[(\d+)\]$/);
  if (r) return t('v.repeat', { n: Number(r[1]) + 1 });
  if (/^must be one of /.test(m)) return t('v.oneOf');
  return m;
}

function degreeSelect(attrs, { empty = true } = {}) {
  return h(
    'select',
    attrs,
    empty ? h('option', { value: '', text: t('scr.noMinimum') }) : null,
    DEGREES.map((d) => h('option', { value: d, text: degreeLabel(d) })),
  );
}

/** One nice-to-have row: kind, value (text, degree or years by kind), weight, remove. */
function niceRow(item, onRemove) {
  const kind = h(
    'select',
    { 'aria-label': t('scr.nice.kind'), testid: 'nice-kind' },
    NICE_KINDS.map((k) => h('option', { value: k, text: t(`kind.${k}`) })),
  );
  const valueHolder = h('div', { class: 'nice-value' });
  const weight = h('input', {
    type: 'number',
    min: '1',
    max: String(MAX_WEIGHT),
    step: '1',
    inputmode: 'numeric',
    'aria-label': t('scr.nice.weight'),
    testid: 'nice-weight',
  });
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const remove = button({
    class: 'btn small ghost',
    text: '×',
    on: { click: () => onRemove(row) },
  });
  let valueEl = null;
  function drawValue(value) {
    if (kind.value === 'degree')
      valueEl = degreeSelect({ 'aria-label': t('scr.nice.value'), testid: 'nice-value' }, { empty: false });
    else if (kind.value === 'years')
      valueEl = h('input', {
        type: 'number',
        min: '0',
        max: String(MAX_YEARS),
        step: '0.5',
        inputmode: 'decimal',
        'aria-label': t('scr.nice.value'),
        testid: 'nice-value',
      });
    else
      valueEl = h('input', {
        type: 'text',
        maxlength: '60',
        autocomplete: 'off',
        'aria-label': t('scr.nice.value'),
        testid: 'nice-value',
      });
    if (value !== undefined && value !== null) valueEl.value = String(value);
    replace(valueHolder, valueEl);
  }
  kind.value = NICE_KINDS.includes(item.kind) ? item.kind : 'skill';
  drawValue(item.value);
  weight.value = String(item.weight ?? 1);
  kind.addEventListener('change', () => drawValue(kind.value === 'degree' ? 'bachelor' : ''));
  const row = h('li', { class: 'nice-row', testid: 'nice-row' }, kind, valueHolder, weight, remove, error);
  row.error = error;
  row.setIndex = (i) => {
    remove.setAttribute('aria-label', t('scr.nice.remove', { n: i + 1 }));
    kind.setAttribute('aria-label', `${t('scr.nice.row', { n: i + 1 })}: ${t('scr.nice.kind')}`);
    valueEl.setAttribute('aria-label', `${t('scr.nice.row', { n: i + 1 })}: ${t('scr.nice.value')}`);
    weight.setAttribute('aria-label', `${t('scr.nice.row', { n: i + 1 })}: ${t('scr.nice.weight')}`);
  };
  row.read = () => {
    // (not `value`: an <li> has a numeric value property)
    const k = kind.value;
    const v = k === 'years' ? numberOrNull(valueEl.value) : k === 'degree' ? valueEl.value : valueEl.value.trim();
    return { kind: k, value: v, weight: numberOrNull(weight.value) ?? 1 };
  };
  row.inputs = { kind, weight, value: () => valueEl };
  return row;
}

/**
 * The screening settings card. onSaved({rematched, invited}) after a successful save.
 * Returns the card element.
 */
export function screeningCard(ctx, jobId, { onSaved } = {}) {
  const minDegree = field(t('scr.minDegree'), degreeSelect({ name: 'min_degree', testid: 'scr-min-degree' }));
  const minYears = field(
    t('scr.minYears'),
    h('input', {
      type: 'number',
      name: 'min_years',
      min: '0',
      max: String(MAX_YEARS),
      step: '0.5',
      inputmode: 'decimal',
      testid: 'scr-min-years',
    }),
    { hint: t('scr.minYearsHint') },
  );
  const skills = tagInput(t('scr.skills'), { testid: 'scr-skills' });
  const certs = tagInput(t('scr.certs'), { testid: 'scr-certs' });
  const threshold = field(
    t('scr.threshold'),
    h('input', {
      type: 'number',
      name: 'auto_invite_threshold',
      min: '0',
      max: '100',
      step: '1',
      inputmode: 'numeric',
      testid: 'scr-threshold',
    }),
    { hint: t('scr.thresholdHint') },
  );
  const followSel = h(
    'select',
    { name: 'followups_count', testid: 'scr-followups' },
    FOLLOWUP_COUNTS.map((n) => h('option', { value: String(n), text: String(n) })),
  );
  const followups = field(t('scr.followups'), followSel, { hint: t('scr.followupsHint') });
  const inRanking = h('input', {
    type: 'checkbox',
    id: 'scr-in-ranking',
    testid: 'scr-in-ranking',
    'aria-describedby': 'scr-in-ranking-hint',
  });
  const inRankingErr = h('p', { class: 'field-error', role: 'alert', hidden: true });

  const niceList = h('ol', { class: 'nice-list', testid: 'scr-nice' });
  const niceEmpty = h('p', { class: 'muted small', text: t('scr.nice.none') });
  const niceErr = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const rows = [];
  const renumber = () => {
    rows.forEach((r, i) => r.setIndex(i));
    niceEmpty.hidden = rows.length > 0;
  };
  const removeRow = (row) => {
    rows.splice(rows.indexOf(row), 1);
    row.remove();
    renumber();
  };
  const addRow = (item = {}) => {
    const r = niceRow(item, removeRow);
    rows.push(r);
    niceList.append(r);
    renumber();
    return r;
  };
  const addBtn = button({
    class: 'btn small',
    testid: 'scr-nice-add',
    text: `+ ${t('scr.nice.add')}`,
    on: {
      click: () => {
        const r = addRow();
        r.inputs.value().focus();
      },
    },
  });

  const { summary, status, save } = serverFormParts('scr', t('scr.save'));

  const form = h(
    'form',
    { class: 'screening-form', novalidate: true, testid: 'screening-form', 'aria-busy': 'true' },
    summary,
    h('div', { class: 'grid two tight' }, minDegree.wrap, minYears.wrap),
    skills.wrap,
    certs.wrap,
    h(
      'fieldset',
      { class: 'nice' },
      h('legend', { text: t('scr.nice') }),
      h('p', { class: 'hint', text: t('scr.niceHint') }),
      niceEmpty,
      niceList,
      niceErr,
      addBtn,
    ),
    threshold.wrap,
    h(
      'div',
      { class: 'grid two tight' },
      followups.wrap,
      h(
        'div',
        { class: 'setting-toggle' },
        h('label', { class: 'check', for: inRanking.id }, inRanking, h('span', { text: ` ${t('scr.inRanking')}` })),
        h('p', { class: 'hint', id: 'scr-in-ranking-hint', text: t('scr.inRankingHint') }),
        inRankingErr,
      ),
    ),
    h('p', { class: 'formula muted small', testid: 'scr-formula', text: t('scr.formula') }),
    h('div', { class: 'form-actions' }, save),
    status,
  );

  function fill(data) {
    const r = (data && data.requirements) || {};
    const f = (data && data.followups) || {};
    minDegree.input.value = r.min_degree || '';
    minYears.input.value = r.min_years === null || r.min_years === undefined ? '' : String(r.min_years);
    skills.set(r.required_skills || []);
    certs.set(r.required_certificates || []);
    for (const row of [...rows]) removeRow(row);
    for (const item of r.nice_to_have || []) addRow(item);
    threshold.input.value =
      r.auto_invite_threshold === null || r.auto_invite_threshold === undefined ? '' : String(r.auto_invite_threshold);
    followSel.value = String(f.count ?? 2);
    inRanking.checked = f.in_ranking === true;
    renumber();
  }

  function payload() {
    return {
      requirements: {
        min_degree: minDegree.input.value || null,
        min_years: numberOrNull(minYears.input.value),
        required_skills: skills.values(),
        required_certificates: certs.values(),
        nice_to_have: rows.map((r) => r.read()),
        auto_invite_threshold: numberOrNull(threshold.input.value),
      },
      followups: { count: Number(followSel.value), in_ranking: inRanking.checked },
    };
  }

  const simple = {
    'requirements.min_degree': minDegree,
    'requirements.min_years': minYears,
    'requirements.auto_invite_threshold': threshold,
    'followups.count': followups,
    'followups.in_ranking': { error: inRankingErr, input: inRanking },
  };
  const lists = { required_skills: skills, required_certificates: certs };

  function clearErrors() {
    for (const f of [...Object.values(simple), ...Object.values(lists)]) {
      showError(f.error, []);
      f.input.removeAttribute('aria-invalid');
    }
    for (const r of rows) {
      showError(r.error, []);
    }
    form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
    showError(niceErr, []);
    replace(summary);
    summary.hidden = true;
  }

  /** 422 rows next to their fields; rows naming nothing on this form in a table on top. */
  function showErrors(errors) {
    const other = [];
    const values = { required_skills: skills.values(), required_certificates: certs.values() };
    for (const e of errors) {
      const fieldName = String(e.field || '');
      const message = localMessage(e.message);
      if (simple[fieldName]) {
        addError(simple[fieldName].error, message);
        simple[fieldName].input.setAttribute('aria-invalid', 'true');
        continue;
      }
      let m = fieldName.match(/^requirements\.(required_skills|required_certificates)(?:\[(\d+)\])?$/);
      if (m) {
        const term = m[2] !== undefined ? values[m[1]][Number(m[2])] : null;
        addError(lists[m[1]].error, term ? `“${term}”: ${message}` : message);
        lists[m[1]].input.setAttribute('aria-invalid', 'true');
        continue;
      }
      m = fieldName.match(/^requirements\.nice_to_have(?:\[(\d+)\](?:\.(\w+))?)?$/);
      if (m && m[1] !== undefined && rows[Number(m[1])]) {
        const row = rows[Number(m[1])];
        const key = m[2] || 'value';
        const label = t(`scr.nice.${key}`, {}, key);
        addError(row.error, `${label}: ${message}`);
        const input = key === 'value' ? row.inputs.value() : row.inputs[key];
        if (input) input.setAttribute('aria-invalid', 'true');
        continue;
      }
      if (m) {
        addError(niceErr, message);
        continue;
      }
      other.push({ ...e, message });
    }
    showErrorSummary(summary, form, t('scr.invalid'), other, 'scr-error-table');
  }

  const problem = (text) => {
    summary.hidden = false;
    replace(summary, h('strong', { text }));
  };
  serverForm(ctx, {
    form,
    save,
    status,
    load: () => API.screening(jobId),
    send: () => API.saveScreening(jobId, payload()),
    fill,
    clear: clearErrors,
    saved: (res) => {
      notice(status, t('scr.saved', { n: res.rematched ?? 0, m: res.invited ?? 0 }));
      if (onSaved) onSaved(res);
    },
    invalid: showErrors,
    failed: (e) => problem(errorText(e)),
    loadFailed: (e) => problem(e.message || t('err.generic')),
  });

  return card({ id: 'scr-h', title: t('scr.title'), testid: 'screening-card' }, form);
}
