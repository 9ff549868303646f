// Question bank: filter/search and file import (CSV / JSON / XLSX).

import { h, replace, field, showError, downloadText } from '../common/dom.js';
import { debounce } from '../common/timing.js';
import { API, ApiError } from '../staff/api.js';
import { t, pick } from '../staff/i18n.js';
import { questionCard, errorTable, errorBanner, loadCompetencies, pageHeader, SECTIONS, toCsv } from '../staff/ui.js';

const IMPORT_HEADER = [
  'section',
  'text_zh',
  'text_en',
  'competencies',
  'rubric_zh',
  'rubric_en',
  'prep_s',
  'answer_s',
  'media',
  'tags',
];

export function renderBank(main, ctx) {
  const banner = h('div', { hidden: true });
  const sectionSel = h(
    'select',
    { testid: 'bank-section' },
    h('option', { value: '', text: t('bank.allSections') }),
    SECTIONS.map((s) => h('option', { value: s, text: t(`section.${s}`) })),
  );
  const compSel = h(
    'select',
    { testid: 'bank-competency' },
    h('option', { value: '', text: t('bank.allCompetencies') }),
  );
  const search = h('input', { type: 'search', testid: 'bank-search', placeholder: t('bank.searchPh') });
  const count = h('p', { class: 'muted small', role: 'status', testid: 'bank-count' });
  const list = h(
    'div',
    { class: 'question-list', testid: 'bank-list' },
    h('p', { class: 'muted', text: t('common.loading') }),
  );

  const filters = h(
    'div',
    { class: 'filters' },
    field(t('bank.section'), sectionSel).wrap,
    field(t('bank.competency'), compSel).wrap,
    h('div', { class: 'grow' }, field(t('bank.search'), search).wrap),
  );

  let reqNo = 0;
  async function load() {
    const my = ++reqNo;
    try {
      const qs = await API.questions({ section: sectionSel.value, competency: compSel.value, q: search.value.trim() });
      if (!ctx.alive || my !== reqNo) return;
      const items = Array.isArray(qs) ? qs : [];
      count.textContent = t('bank.count', { n: items.length });
      replace(
        list,
        items.length ? items.map((q) => questionCard(q)) : h('p', { class: 'empty muted', text: t('bank.none') }),
      );
    } catch (e) {
      if (!ctx.alive || my !== reqNo) return;
      replace(list);
      errorBanner(banner, e);
    }
  }
  const loadSoon = debounce(load, 250);
  sectionSel.addEventListener('change', load);
  compSel.addEventListener('change', load);
  search.addEventListener('input', loadSoon);

  // ----- import -----
  const fileInput = h('input', {
    type: 'file',
    name: 'file',
    accept:
      '.csv,.json,.xlsx,text/csv,application/json,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    testid: 'import-file',
  });
  const file = field(t('bank.importFile'), fileInput, { hint: t('bank.importHint') });
  const submit = h('button', { type: 'submit', class: 'btn primary', testid: 'import-submit', text: t('bank.import') });
  const template = h('button', {
    type: 'button',
    class: 'btn ghost small',
    testid: 'import-template',
    text: t('bank.template'),
    on: {
      click: () =>
        downloadText(
          'questions-template.csv',
          toCsv(IMPORT_HEADER, [
            [
              'structured',
              '请举例说明你如何推动跨部门合作。',
              'Give an example of how you drove cross-department cooperation.',
              'communication;teamwork',
              '背景清楚|行动具体|结果可衡量',
              'Clear context|Concrete actions|Measurable result',
              '30',
              '180',
              'video',
              'example',
            ],
          ]),
        ),
    },
  });
  const out = h('div', { class: 'result', 'aria-live': 'polite' });
  const importForm = h(
    'form',
    { class: 'stack', novalidate: true },
    file.wrap,
    h('div', { class: 'form-actions' }, submit, template),
    out,
  );
  importForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(file.error, []);
    const f = fileInput.files && fileInput.files[0];
    if (!f) {
      showError(file.error, t('bank.pick'));
      return;
    }
    submit.disabled = true;
    replace(out);
    try {
      const res = await API.importQuestions(f);
      if (!ctx.alive) return;
      const n = res && typeof res.imported === 'number' ? res.imported : ((res && res.questions) || []).length;
      replace(
        out,
        h('div', { class: 'banner ok', role: 'status', testid: 'import-result', text: t('bank.imported', { n }) }),
      );
      fileInput.value = '';
      load();
    } catch (e) {
      if (!ctx.alive) return;
      if (e instanceof ApiError && e.errors.length) {
        replace(
          out,
          h('p', {
            class: 'form-error',
            role: 'alert',
            testid: 'import-error',
            text: t('bank.invalid', { n: e.errors.length }),
          }),
          errorTable(e.errors, { testid: 'import-errors' }),
        );
      } else {
        replace(
          out,
          h('p', {
            class: 'form-error',
            role: 'alert',
            testid: 'import-error',
            text: e.status === 0 ? t('err.network') : e.message,
          }),
        );
      }
    } finally {
      submit.disabled = false;
    }
  });

  replace(
    main,
    pageHeader(t('bank.title')),
    banner,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'import-h' },
      h('h2', { id: 'import-h', class: 'card-title', text: t('bank.importTitle') }),
      importForm,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'list-h' },
      h(
        'div',
        { class: 'card-head' },
        h('h2', { id: 'list-h', class: 'card-title', text: t('bank.listTitle') }),
        count,
      ),
      filters,
      list,
    ),
  );

  loadCompetencies()
    .then((cats) => {
      if (!ctx.alive) return;
      for (const c of cats) compSel.append(h('option', { value: c.id, text: pick(c.name) || c.id }));
    })
    .catch(() => {})
    .finally(() => {
      if (ctx.alive) load();
    });

  return () => {};
}
