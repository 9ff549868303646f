// Create-job form: basics, description analysis, weighted competency model, 3-section plan.

import { h, button, replace, field, showError, nextId } from '../common/dom.js';
import { debounce } from '../common/timing.js';
import { API, ApiError } from '../staff/api.js';
import { t, pick } from '../staff/i18n.js';
import {
  card,
  dataTable,
  questionCard,
  errorBanner,
  loadCompetencies,
  competencyCatalogue,
  pageHeader,
  SECTIONS,
  backToJobs,
} from '../staff/ui.js';

const CUSTOM = '__custom__';
const EPS = 0.001;

// The draft survives a language switch and navigating away (in memory only).
let draft = null;
let rowKey = 0;
function newDraft() {
  return {
    title: '',
    department: '',
    description: '',
    language: 'zh-CN',
    bilingual: false,
    comps: [], // {key, id, custom, nameZh, nameEn, weight: string}
    plan: { self_intro: [], structured: [], professional: [] }, // Question objects
    reasons: {}, // question id -> reason from the analysis
  };
}
const newRow = (patch = {}) => ({ key: ++rowKey, id: '', custom: false, nameZh: '', nameEn: '', weight: '', ...patch });

/** Round weights to 2 decimals and put the residue on the largest so they sum to 1.00. */
function roundWeights(ws) {
  const total = ws.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return ws.map(() => 0);
  const r = ws.map((w) => Math.round((w / total) * 100) / 100);
  const diff = Math.round((1 - r.reduce((a, b) => a + b, 0)) * 100) / 100;
  if (diff !== 0) {
    const i = r.indexOf(Math.max(...r));
    r[i] = Math.round((r[i] + diff) * 100) / 100;
  }
  return r;
}

const weightSum = (comps) => comps.reduce((a, c) => a + (Number.parseFloat(c.weight) || 0), 0);

export function renderJobForm(main, ctx) {
  if (!draft) draft = newDraft();
  const d = draft;
  const errEls = {}; // error key -> element

  const summary = h('div', { class: 'form-errors', role: 'alert', testid: 'form-errors', hidden: true });
  const banner = h('div', { hidden: true });

  // ---------- basics ----------
  const title = field(
    t('form.title'),
    h('input', { type: 'text', name: 'title', required: true, value: d.title, testid: 'job-title-input' }),
    { errorKey: 'title' },
  );
  const dept = field(
    t('form.department'),
    h('input', { type: 'text', name: 'department', required: true, value: d.department, testid: 'job-department' }),
    { errorKey: 'department' },
  );
  const langSel = h(
    'select',
    { name: 'language', testid: 'job-language' },
    h('option', { value: 'zh-CN', text: t('lang.zh') }),
    h('option', { value: 'en', text: t('lang.en') }),
  );
  langSel.value = d.language;
  const lang = field(t('form.language'), langSel, { errorKey: 'language' });
  const bilingual = h('input', {
    type: 'checkbox',
    id: 'job-bilingual',
    testid: 'job-bilingual',
    checked: d.bilingual,
    'aria-describedby': 'job-bilingual-hint',
  });
  bilingual.addEventListener('change', () => {
    d.bilingual = bilingual.checked;
  });
  const bilingualWrap = h(
    'div',
    { class: 'field' },
    h('label', { class: 'check', for: bilingual.id }, bilingual, h('span', { text: ` ${t('form.bilingual')}` })),
    h('p', { class: 'hint', id: 'job-bilingual-hint', text: t('form.bilingualHint') }),
  );
  const desc = field(
    t('form.description'),
    h('textarea', { name: 'description', rows: '7', testid: 'job-description', value: d.description }),
    { errorKey: 'description', hint: t('form.descriptionHint') },
  );
  Object.assign(errEls, { title: title.error, department: dept.error, language: lang.error, description: desc.error });
  title.input.addEventListener('input', () => {
    d.title = title.input.value;
  });
  dept.input.addEventListener('input', () => {
    d.department = dept.input.value;
  });
  langSel.addEventListener('change', () => {
    d.language = langSel.value;
  });
  desc.input.addEventListener('input', () => {
    d.description = desc.input.value;
  });

  const analyseBtn = button({ class: 'btn', testid: 'analyse', text: t('form.analyse') });
  const analyseStatus = h('span', { class: 'muted small', role: 'status', testid: 'analyse-status' });
  analyseBtn.addEventListener('click', analyse);

  // ---------- competency model ----------
  const compRows = h('tbody', {});
  const sumEl = h('strong', { testid: 'weight-sum' });
  const sumBox = h(
    'p',
    { class: 'weight-sum', 'aria-live': 'polite' },
    t('form.weightSum'),
    ' ',
    sumEl,
    ' ',
    h('span', { class: 'muted', text: t('form.weightTarget') }),
  );
  const compErr = h('p', { class: 'field-error', role: 'alert', hidden: true, dataset: { field: 'competencies' } });
  errEls.competencies = compErr;
  const addComp = button({
    class: 'btn small',
    testid: 'comp-add',
    text: t('form.addCompetency'),
  });
  const evenBtn = button({
    class: 'btn small ghost',
    testid: 'comp-even',
    text: t('form.distribute'),
  });
  addComp.addEventListener('click', () => {
    d.comps.push(newRow());
    renderComps();
    compRows.querySelector('tr:last-child select')?.focus();
  });
  evenBtn.addEventListener('click', () => {
    const r = roundWeights(d.comps.map(() => 1));
    d.comps.forEach((c, i) => {
      c.weight = r[i].toFixed(2);
    });
    renderComps();
  });

  function updateSum() {
    const s = weightSum(d.comps);
    sumEl.textContent = s.toFixed(2);
    const ok = d.comps.length > 0 && Math.abs(s - 1) <= EPS;
    sumBox.classList.toggle('ok', ok);
    sumBox.classList.toggle('bad', !ok);
  }

  function renderComps() {
    const cats = competencyCatalogue();
    replace(
      compRows,
      d.comps.map((c, i) => {
        const sel = h(
          'select',
          { testid: `comp-select-${i}`, 'aria-label': t('form.competencyN', { n: i + 1 }) },
          h('option', { value: '', text: t('form.choose') }),
          cats.map((x) => h('option', { value: x.id, text: pick(x.name) || x.id })),
          h('option', { value: CUSTOM, text: t('form.custom') }),
        );
        sel.value = c.custom ? CUSTOM : c.id;
        sel.addEventListener('change', () => {
          if (sel.value === CUSTOM) {
            c.custom = true;
            c.id = '';
          } else {
            c.custom = false;
            c.id = sel.value;
          }
          renderComps();
          if (c.custom) compRows.querySelector(`[data-testid="comp-custom-${i}"]`)?.focus();
        });
        const idIn = h('input', {
          type: 'text',
          value: c.id,
          testid: `comp-custom-${i}`,
          placeholder: t('form.customId'),
          'aria-label': t('form.customIdN', { n: i + 1 }),
          pattern: '[a-z][a-z0-9_]{1,40}',
        });
        idIn.addEventListener('input', () => {
          c.id = idIn.value.trim();
        });
        // A custom competency's name in one language (`name`: nameZh or nameEn).
        const nameIn = (name, lang) =>
          h('input', {
            type: 'text',
            value: c[name],
            placeholder: t(`form.${name}`),
            'aria-label': `${t(`form.${name}`)} ${i + 1}`,
            lang,
            on: {
              input: (ev) => {
                c[name] = ev.target.value;
              },
            },
          });
        const zhIn = nameIn('nameZh', 'zh-CN');
        const enIn = nameIn('nameEn', 'en');
        const wIn = h('input', {
          type: 'number',
          min: '0',
          max: '1',
          step: '0.01',
          value: c.weight,
          inputmode: 'decimal',
          testid: `comp-weight-${i}`,
          'aria-label': t('form.weightN', { n: i + 1 }),
          class: 'weight',
        });
        wIn.addEventListener('input', () => {
          c.weight = wIn.value;
          updateSum();
        });
        const rm = button({
          class: 'btn small ghost icon',
          'aria-label': t('form.removeN', { n: i + 1 }),
          text: '✕',
        });
        rm.addEventListener('click', () => {
          d.comps.splice(i, 1);
          renderComps();
        });
        const cat = cats.find((x) => x.id === c.id && !c.custom);
        return h(
          'tr',
          { testid: `comp-row-${i}`, dataset: { row: String(i) } },
          h(
            'td',
            { dataset: { label: t('form.competency') } },
            sel,
            c.custom ? h('div', { class: 'custom-comp' }, idIn, zhIn, enIn) : null,
            cat && cat.definition ? h('p', { class: 'muted small', text: pick(cat.definition) }) : null,
            c.matched && c.matched.length
              ? h('p', { class: 'muted small', text: `${t('form.matched')}: ${c.matched.join('、')}` })
              : null,
          ),
          h('td', { class: 'num', dataset: { label: t('form.weight') } }, wIn),
          h('td', { class: 'actions' }, rm),
        );
      }),
    );
    if (!d.comps.length)
      compRows.append(h('tr', {}, h('td', { colspan: '3', class: 'muted', text: t('form.noCompetencies') })));
    updateSum();
  }

  // ---------- plan ----------
  const sectionUis = {};
  const planCards = SECTIONS.map((section) => {
    const listEl = h('ol', { class: 'plan-list', testid: `plan-${section}` });
    const err = h('p', { class: 'field-error', role: 'alert', hidden: true, dataset: { field: `plan.${section}` } });
    errEls[`plan.${section}`] = err;
    const rule = h('p', { class: 'rule muted small', testid: `rule-${section}` });
    const searchIn = h('input', {
      type: 'search',
      testid: `picker-search-${section}`,
      placeholder: t('bank.searchPh'),
      'aria-label': t('form.searchSection', { section: t(`section.${section}`) }),
    });
    const results = h('div', { class: 'picker-results', testid: `picker-${section}` });
    const pickerId = nextId('picker');
    const picker = h(
      'details',
      { class: 'picker', open: section !== 'self_intro' || d.plan.self_intro.length === 0 },
      h('summary', { text: t('form.pickFromBank') }),
      h('div', { id: pickerId }, searchIn, results),
    );
    let pool = [];
    let reqNo = 0;
    const load = async () => {
      const my = ++reqNo;
      try {
        const qs = await API.questions({ section, q: searchIn.value.trim() });
        if (!ctx.alive || my !== reqNo) return;
        pool = Array.isArray(qs) ? qs : [];
        renderResults();
      } catch (e) {
        if (!ctx.alive || my !== reqNo) return;
        replace(results, h('p', { class: 'form-error', text: e.message }));
      }
    };
    const renderResults = () => {
      const chosen = new Set(d.plan[section].map((q) => q.id));
      replace(
        results,
        pool.length
          ? pool.slice(0, 60).map((q) => {
              const added = chosen.has(q.id);
              const btn = button({
                class: `btn small${added ? '' : ' primary'}`,
                testid: `add-${section}-${q.id}`,
                disabled: added,
                text: added ? t('form.added') : section === 'self_intro' ? t('form.use') : t('form.add'),
              });
              btn.addEventListener('click', () => addQuestion(section, q));
              return questionCard(q, { actions: [btn], compact: true });
            })
          : h('p', { class: 'muted', text: t('bank.none') }),
      );
    };
    searchIn.addEventListener('input', debounce(load, 250));
    sectionUis[section] = { listEl, rule, load, renderResults };
    return h(
      'section',
      { class: 'plan-section', 'aria-labelledby': `${pickerId}-h` },
      h('h3', { id: `${pickerId}-h`, text: t(`section.${section}`) }),
      rule,
      listEl,
      err,
      picker,
    );
  });

  function addQuestion(section, q) {
    if (section === 'self_intro') d.plan.self_intro = [q];
    else if (!d.plan[section].some((x) => x.id === q.id)) d.plan[section].push(q);
    renderPlan(section);
    sectionUis[section].renderResults();
  }

  function renderPlan(section) {
    const ui = sectionUis[section];
    const qs = d.plan[section];
    replace(
      ui.listEl,
      qs.length
        ? qs.map((q, i) => {
            const up = button({
              class: 'btn small ghost icon',
              'aria-label': t('form.moveUp'),
              text: '↑',
              disabled: i === 0,
            });
            const down = button({
              class: 'btn small ghost icon',
              'aria-label': t('form.moveDown'),
              text: '↓',
              disabled: i === qs.length - 1,
            });
            const rm = button({
              class: 'btn small ghost',
              testid: `remove-${section}-${q.id}`,
              text: t('form.remove'),
            });
            up.addEventListener('click', () => {
              [qs[i - 1], qs[i]] = [qs[i], qs[i - 1]];
              renderPlan(section);
            });
            down.addEventListener('click', () => {
              [qs[i + 1], qs[i]] = [qs[i], qs[i + 1]];
              renderPlan(section);
            });
            rm.addEventListener('click', () => {
              qs.splice(i, 1);
              renderPlan(section);
              ui.renderResults();
            });
            return h(
              'li',
              { testid: `selected-${q.id}` },
              questionCard(q, {
                actions: section === 'self_intro' ? [rm] : [up, down, rm],
                reason: d.reasons[q.id],
                compact: true,
              }),
            );
          })
        : h('li', { class: 'muted empty-item', text: t('form.noneSelected') }),
    );
    const problems = planProblems(section);
    ui.rule.textContent = `${t(`form.rule.${section}`)} ${problems.length ? '' : '✓'}`;
    ui.rule.classList.toggle('ok', problems.length === 0);
  }

  function planProblems(section) {
    const qs = d.plan[section];
    if (section === 'self_intro') return qs.length === 1 ? [] : [t('v.selfIntro')];
    if (section === 'structured') return qs.length >= 1 ? [] : [t('v.structured')];
    const out = [];
    if (qs.length < 1) out.push(t('v.professional'));
    else if (!qs.some((q) => q.media === 'text')) out.push(t('v.textQuestion'));
    return out;
  }

  // ---------- analyse ----------
  async function analyse() {
    const text = desc.input.value.trim();
    showError(desc.error, []);
    if (!text) {
      showError(desc.error, t('v.descriptionFirst'));
      desc.input.focus();
      return;
    }
    analyseBtn.disabled = true;
    analyseStatus.textContent = t('form.analysing');
    try {
      const res = await API.analyze(text);
      if (!ctx.alive) return;
      if (res.language) {
        d.language = String(res.language).startsWith('zh') ? 'zh-CN' : 'en';
        langSel.value = d.language;
      }
      const comps = Array.isArray(res.competencies) ? res.competencies : [];
      const rounded = roundWeights(comps.map((c) => Number(c.weight) || 0));
      const known = new Set(competencyCatalogue().map((c) => c.id));
      d.comps = comps.map((c, i) =>
        newRow({
          id: c.id,
          custom: !known.has(c.id),
          weight: rounded[i].toFixed(2),
          matched: c.matched || [],
          nameZh: (c.name && c.name.zh) || '',
          nameEn: (c.name && c.name.en) || '',
        }),
      );
      d.reasons = {};
      const suggested = { self_intro: [], structured: [], professional: [] };
      for (const item of res.questions || []) {
        const q = item.question || item;
        if (!q || !suggested[q.section]) continue;
        if (item.reason) d.reasons[q.id] = item.reason;
        if (!suggested[q.section].some((x) => x.id === q.id)) suggested[q.section].push(q);
      }
      for (const s of SECTIONS) {
        if (suggested[s].length) d.plan[s] = s === 'self_intro' ? suggested[s].slice(0, 1) : suggested[s];
      }
      renderComps();
      SECTIONS.forEach((s) => {
        renderPlan(s);
        sectionUis[s].renderResults();
      });
      analyseStatus.textContent = t('form.analysed', { c: d.comps.length, q: (res.questions || []).length });
    } catch (e) {
      if (!ctx.alive) return;
      analyseStatus.textContent = '';
      if (e instanceof ApiError && e.errors.length)
        showError(
          desc.error,
          e.errors.map((x) => x.message),
        );
      else showError(desc.error, e.status === 0 ? t('err.network') : e.message);
    } finally {
      analyseBtn.disabled = false;
    }
  }

  // ---------- validation + save ----------
  function clearErrors() {
    for (const el of Object.values(errEls)) showError(el, []);
    compRows.querySelectorAll('tr.invalid').forEach((r) => r.classList.remove('invalid'));
    summary.hidden = true;
    replace(summary);
  }

  function showErrors(list) {
    // list: [{key, message, row?, raw?}]
    const byKey = {};
    for (const e of list) (byKey[e.key] ||= []).push(e.message);
    for (const [key, msgs] of Object.entries(byKey)) if (errEls[key]) showError(errEls[key], msgs);
    for (const e of list) {
      if (e.key === 'competencies' && Number.isInteger(e.row))
        compRows.querySelector(`tr[data-row="${e.row}"]`)?.classList.add('invalid');
    }
    summary.hidden = false;
    replace(
      summary,
      h('p', { class: 'strong', text: t('form.fixErrors', { n: list.length }) }),
      h(
        'ul',
        {},
        list.map((e) => h('li', {}, e.raw ? h('code', { text: e.raw }) : null, e.raw ? ' ' : null, e.message)),
      ),
    );
    summary.scrollIntoView({ block: 'start', behavior: 'smooth' });
  }

  function validate() {
    const errs = [];
    if (!d.title.trim()) errs.push({ key: 'title', message: t('v.required') });
    if (!d.department.trim()) errs.push({ key: 'department', message: t('v.required') });
    if (!d.comps.length) errs.push({ key: 'competencies', message: t('v.oneCompetency') });
    const seen = new Set();
    d.comps.forEach((c, i) => {
      if (!c.id) errs.push({ key: 'competencies', row: i, message: t('v.compId', { n: i + 1 }) });
      else if (c.custom && !/^[a-z][a-z0-9_]{1,40}$/.test(c.id))
        errs.push({ key: 'competencies', row: i, message: t('v.compIdFormat', { id: c.id }) });
      else if (seen.has(c.id)) errs.push({ key: 'competencies', row: i, message: t('v.compDup', { id: c.id }) });
      seen.add(c.id);
      const w = Number.parseFloat(c.weight);
      if (!Number.isFinite(w) || w <= 0 || w > 1)
        errs.push({ key: 'competencies', row: i, message: t('v.weight', { n: i + 1 }) });
    });
    if (d.comps.length && Math.abs(weightSum(d.comps) - 1) > EPS)
      errs.push({ key: 'competencies', message: t('v.sum', { sum: weightSum(d.comps).toFixed(2) }) });
    for (const s of SECTIONS) for (const m of planProblems(s)) errs.push({ key: `plan.${s}`, message: m });
    return errs;
  }

  function payload() {
    return {
      title: d.title.trim(),
      department: d.department.trim(),
      description: d.description.trim(),
      language: d.language,
      answer_languages: d.bilingual ? ['zh', 'en'] : [],
      competencies: d.comps.map((c) => {
        const out = { id: c.id, weight: Math.round(Number.parseFloat(c.weight) * 10000) / 10000 };
        if (c.custom && (c.nameZh || c.nameEn)) out.name = { zh: c.nameZh || c.nameEn, en: c.nameEn || c.nameZh };
        return out;
      }),
      plan: SECTIONS.map((s) => ({ section: s, questions: d.plan[s].map((q) => q.id) })),
    };
  }

  /** Map a server error `field` ("title", "competencies[1].weight", "plan[2].questions", …) to a slot. */
  function keyForField(f) {
    const s = String(f || '');
    const head = s.split(/[.[]/)[0];
    if (['title', 'department', 'description', 'language'].includes(head)) return { key: head };
    if (head === 'competencies') {
      const m = s.match(/^competencies(?:\[(\d+)\]|\.(\d+))/);
      return { key: 'competencies', row: m ? Number(m[1] ?? m[2]) : undefined };
    }
    if (head === 'plan') {
      const named = SECTIONS.find((x) => s.includes(x));
      if (named) return { key: `plan.${named}` };
      const m = s.match(/^plan(?:\[(\d+)\]|\.(\d+))/);
      const idx = m ? Number(m[1] ?? m[2]) : NaN;
      if (SECTIONS[idx]) return { key: `plan.${SECTIONS[idx]}` };
      return { key: 'general' };
    }
    return { key: 'general' };
  }

  const saveBtn = h('button', { type: 'submit', class: 'btn primary', testid: 'save-job', text: t('form.save') });
  const resetBtn = button({ class: 'btn ghost', testid: 'reset-job', text: t('form.reset') });
  resetBtn.addEventListener('click', () => {
    draft = newDraft();
    renderJobForm(main, ctx);
  });

  const form = h(
    'form',
    { class: 'job-form', novalidate: true, testid: 'job-form' },
    summary,
    card(
      { id: 'basics-h', title: t('form.basics') },
      h('div', { class: 'grid three tight' }, title.wrap, dept.wrap, lang.wrap),
      bilingualWrap,
      desc.wrap,
      h('div', { class: 'form-actions left' }, analyseBtn, analyseStatus),
    ),
    card(
      { id: 'comp-h', title: t('form.competencies'), aside: sumBox },
      dataTable(
        { class: 'table comps', testid: 'comp-table' },
        [t('form.competency'), { text: t('form.weight'), class: 'num' }, { text: t('col.actions'), hidden: true }],
        compRows,
      ),
      compErr,
      h('div', { class: 'form-actions left' }, addComp, evenBtn),
    ),
    card({ id: 'plan-h', title: t('form.plan') }, h('div', { class: 'plan-grid' }, planCards)),
    h('div', { class: 'form-actions sticky' }, resetBtn, saveBtn),
  );

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors();
    const errs = validate();
    if (errs.length) {
      showErrors(errs);
      return;
    }
    saveBtn.disabled = true;
    try {
      const job = await API.createJob(payload());
      if (!ctx.alive) return;
      draft = null;
      ctx.navigate(`#/jobs/${encodeURIComponent(job.id)}`);
    } catch (e) {
      if (!ctx.alive) return;
      if (e instanceof ApiError && e.errors.length) {
        showErrors(e.errors.map((x) => ({ ...keyForField(x.field), message: x.message, raw: x.field })));
      } else {
        errorBanner(banner, e);
        banner.scrollIntoView({ block: 'start', behavior: 'smooth' });
      }
    } finally {
      saveBtn.disabled = false;
    }
  });

  replace(main, pageHeader(t('form.pageTitle'), backToJobs()), banner, form);

  loadCompetencies()
    .catch((e) => errorBanner(banner, e))
    .finally(() => {
      if (!ctx.alive) return;
      renderComps();
    });
  renderComps();
  SECTIONS.forEach((s) => {
    renderPlan(s);
    sectionUis[s].load();
  });
  return () => {};
}
