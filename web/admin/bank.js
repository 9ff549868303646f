// Question bank: filter/search and file import (CSV / JSON / XLSX).

import { h, replace, field } from '../common/dom.js';
import { debounce } from '../common/timing.js';
import { API } from '../staff/api.js';
import { t, pick } from '../staff/i18n.js';
import {
  card,
  questionCard,
  errorBanner,
  loadCompetencies,
  pageHeader,
  uploadForm,
  SECTIONS,
  emptyNote,
} from '../staff/ui.js';

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
      replace(list, items.length ? items.map((q) => questionCard(q)) : emptyNote(t('bank.none')));
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
  const out = h('div', { class: 'result', 'aria-live': 'polite' });
  const { form: importForm } = uploadForm(ctx, {
    prefix: 'import',
    accept:
      '.csv,.json,.xlsx,text/csv,application/json,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    keys: 'bank',
    template: {
      filename: 'questions-template.csv',
      header: IMPORT_HEADER,
      rows: [
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
      ],
    },
    result: out,
    send: (file) => API.importQuestions(file),
    done: (res) => {
      const n = res && typeof res.imported === 'number' ? res.imported : ((res && res.questions) || []).length;
      replace(
        out,
        h('div', { class: 'banner ok', role: 'status', testid: 'import-result', text: t('bank.imported', { n }) }),
      );
      load();
    },
    show: (...nodes) => replace(out, ...nodes),
  });

  replace(
    main,
    pageHeader(t('bank.title')),
    banner,
    card({ id: 'import-h', title: t('bank.importTitle') }, importForm),
    card({ id: 'list-h', title: t('bank.listTitle'), aside: count }, filters, list),
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
