// The organisation's training catalogue (#/training, HR and admins): import a CSV or JSON file
// (all or nothing: a rejected file's row errors are listed), and the current courses. Reports
// recommend these courses for a candidate's weakest dimensions.

import { h, replace, field, showError, downloadText } from '../common/dom.js';
import { API, ApiError } from '../staff/api.js';
import { t } from '../staff/i18n.js';
import { errorBanner, errorTable, notice, pageHeader, toCsv, loadCompetencies, competencyName } from '../staff/ui.js';
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
  const fileInput = h('input', { type: 'file', name: 'file', accept: CATALOGUE_ACCEPT, testid: 'training-file' });
  const file = field(t('training.file'), fileInput, { hint: t('training.hint') });
  const submit = h('button', {
    type: 'submit',
    class: 'btn primary',
    testid: 'training-submit',
    text: t('training.submit'),
  });
  const template = h('button', {
    type: 'button',
    class: 'btn ghost small',
    testid: 'training-template',
    text: t('training.template'),
    on: {
      click: () =>
        downloadText(
          'training-catalogue.csv',
          toCsv(['course', 'competency', 'level', 'link', 'description'], TEMPLATE_ROWS),
        ),
    },
  });
  const result = h('div', { class: 'result', testid: 'training-result', 'aria-live': 'polite', hidden: true });
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    file.wrap,
    h('div', { class: 'form-actions' }, template, submit),
    result,
  );
  const listBody = h('div', {}, h('p', { class: 'muted', text: t('common.loading') }));
  const listTitle = h('h2', { id: 'training-list-h', class: 'card-title', text: t('training.current', { n: '…' }) });

  replace(
    main,
    pageHeader(t('training.title')),
    banner,
    h('p', { class: 'muted page-intro', text: t('training.intro') }),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'training-up-h', testid: 'training-upload' },
      h('h2', { id: 'training-up-h', class: 'card-title', text: t('training.upload') }),
      form,
    ),
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
      replace(listBody, h('p', { class: 'empty muted', testid: 'training-empty', text: t('training.empty') }));
      return;
    }
    replace(
      listBody,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'table', testid: 'training-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['course', 'competency', 'level', 'link'].map((k) =>
                h('th', { scope: 'col', text: t(`training.col.${k}`) }),
              ),
            ),
          ),
          h(
            'tbody',
            {},
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

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(file.error, []);
    const f = fileInput.files && fileInput.files[0];
    if (!f) {
      showError(file.error, t('training.pick'));
      return;
    }
    submit.disabled = true;
    result.hidden = true;
    try {
      const res = await API.importTraining(f);
      if (!ctx.alive) return;
      notice(result, t('training.imported', { n: res.courses }));
      fileInput.value = '';
      await load();
    } catch (e) {
      if (!ctx.alive) return;
      result.hidden = false;
      if (e instanceof ApiError && e.errors.length) {
        replace(
          result,
          h('p', {
            class: 'form-error',
            role: 'alert',
            testid: 'training-error',
            text: t('training.invalid', { n: e.errors.length }),
          }),
          errorTable(e.errors, { testid: 'training-errors' }),
        );
      } else {
        replace(
          result,
          h('p', {
            class: 'form-error',
            role: 'alert',
            testid: 'training-error',
            text: e.status === 0 ? t('err.network') : e.message || t('err.generic'),
          }),
        );
      }
    } finally {
      submit.disabled = false;
    }
  });

  load();
  return () => {};
}
