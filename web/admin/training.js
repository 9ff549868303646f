// The organisation's training catalogue (#/training, HR and admins): import a CSV or JSON file
// (all or nothing: a rejected file's row errors are listed), and the current courses. Reports
// recommend these courses for a candidate's weakest dimensions.

import { h, replace } from '../common/dom.js';
import { API, ApiError } from '../staff/api.js';
import { t } from '../staff/i18n.js';
import {
  card,
  dataTable,
  errorBanner,
  notice,
  pageHeader,
  uploadForm,
  loadCompetencies,
  competencyName,
  emptyNote,
} from '../staff/ui.js';
import { canSeeStats } from './stats.js';

export const CATALOGUE_ACCEPT = '.csv,.json,text/csv,application/json';
const TEMPLATE_ROWS = [
  ['结构化思维训练营', 'logic', 'foundation', 'https://learning.example.com/logic-101', ''],
  [
    'Business writing',
    'expression',
    'intermediate',
    'https://learning.example.com/writing',
    'Clear e-mails and reports',
  ],
];

export function renderTraining(main, ctx) {
  const banner = h('div', { hidden: true });
  replace(main, pageHeader(t('training.title')), banner);
  if (!canSeeStats(ctx.session)) {
    errorBanner(banner, new ApiError(403, { error: 'forbidden' }));
    return () => {};
  }
  const result = h('div', { class: 'result', testid: 'training-result', 'aria-live': 'polite', hidden: true });
  const { form } = uploadForm(ctx, {
    prefix: 'training',
    accept: CATALOGUE_ACCEPT,
    template: {
      filename: 'training-catalogue.csv',
      header: ['course', 'competency', 'level', 'link', 'description'],
      rows: TEMPLATE_ROWS,
    },
    templateFirst: true,
    result,
    send: (file) => API.importTraining(file),
    done: async (res) => {
      notice(result, t('training.imported', { n: res.courses }));
      await load();
    },
    show: (...nodes) => {
      replace(result, ...nodes);
      result.hidden = nodes.length === 0;
    },
  });
  const listBody = h('div', {}, h('p', { class: 'muted', text: t('common.loading') }));
  const listTitle = h('h2', { id: 'training-list-h', class: 'card-title', text: t('training.current', { n: '…' }) });

  replace(
    main,
    pageHeader(t('training.title')),
    banner,
    h('p', { class: 'muted page-intro', text: t('training.intro') }),
    card({ id: 'training-up-h', title: t('training.upload'), testid: 'training-upload' }, form),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'training-list-h', testid: 'training-catalogue' },
      listTitle,
      listBody,
    ),
  );

  function drawList(courses) {
    listTitle.textContent = t('training.current', { n: courses.length });
    if (!courses.length) {
      replace(listBody, emptyNote(t('training.empty'), 'training-empty'));
      return;
    }
    replace(
      listBody,
      dataTable(
        { class: 'table', testid: 'training-table' },
        ['course', 'competency', 'level', 'link'].map((k) => t(`training.col.${k}`)),
        courses.map((c) =>
          h(
            'tr',
            { dataset: { competency: c.competency, level: c.level } },
            h(
              'td',
              { dataset: { label: t('training.col.course') } },
              h('span', { class: 'strong', text: c.course }),
              c.description ? h('div', { class: 'muted small', text: c.description }) : null,
            ),
            h(
              'td',
              { dataset: { label: t('training.col.competency') } },
              competencyName(c.competency),
              ' ',
              h('code', { class: 'q-id', text: c.competency }),
            ),
            h(
              'td',
              { dataset: { label: t('training.col.level') } },
              h('span', { class: `badge subtle level-${c.level}`, text: t(`level.${c.level}`, {}, c.level) }),
            ),
            h(
              'td',
              { dataset: { label: t('training.col.link') } },
              /^https?:\/\//i.test(c.link || '')
                ? h('a', {
                    href: c.link,
                    target: '_blank',
                    rel: 'noopener noreferrer',
                    class: 'link-cell',
                    text: c.link,
                  })
                : h('span', { class: 'muted', text: '—' }),
            ),
          ),
        ),
      ),
    );
  }

  async function load() {
    try {
      await loadCompetencies().catch(() => {});
      const courses = await API.trainingCatalogue();
      if (ctx.alive) drawList(Array.isArray(courses) ? courses : []);
    } catch (e) {
      if (ctx.alive) {
        replace(listBody);
        errorBanner(banner, e);
      }
    }
  }

  load();
  return () => {};
}
