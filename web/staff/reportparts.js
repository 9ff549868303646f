// Report pieces shared by the admin report and the examiner live/review pages: the interview
// mode badge, the mark of a personalised (résumé-based) question, and the development
// suggestions (training courses for the weakest dimensions).

import { h } from '../common/dom.js';
import { t, pick } from './i18n.js';

export const INTERVIEW_MODES = ['video', 'audio', 'text'];

/** The interview mode as a badge ("Audio only — no face analysis"…); null before consent. */
export function modeBadge(mode) {
  if (!INTERVIEW_MODES.includes(mode)) return null;
  return h('span', {
    class: `badge mode mode-${mode}`,
    testid: 'interview-mode',
    dataset: { mode },
    text: t(`mode.${mode}`),
  });
}

/**
 * What is known about a question being personalised: the item's own fields when it has them
 * (`personalised`, `basis`, `in_ranking`, also inside `question`), else `fallback` (e.g. the
 * report's answer of the same index); null when nothing says.
 */
export function personalInfo(item, fallback = null) {
  const q = (item && typeof item.question === 'object' && item.question) || {};
  const flag = item && item.personalised !== undefined ? item.personalised : q.personalised;
  if (flag === undefined) return fallback || null;
  return {
    personalised: !!flag,
    basis: (item && item.basis) || q.basis || (fallback && fallback.basis) || null,
    in_ranking: !!((item && item.in_ranking) || q.in_ranking || (fallback && fallback.in_ranking)),
  };
}

/**
 * "Personalised" badge, whether it counts in rankings, and the résumé facts it was built from
 * (`basis` {zh, en}); null for a core question.
 */
export function personalisedNote(info, { testid = 'personalised' } = {}) {
  if (!info || !info.personalised) return null;
  const basis = pick(info.basis);
  return h(
    'div',
    { class: 'pq', testid, dataset: { inRanking: info.in_ranking ? 'true' : 'false' } },
    h('span', { class: 'badge pq-badge', title: t('pq.title'), text: t('pq.badge') }),
    h('span', {
      class: `badge subtle pq-rank${info.in_ranking ? ' ranked' : ''}`,
      testid: `${testid}-ranking`,
      text: t(info.in_ranking ? 'pq.ranked' : 'pq.notRanked'),
    }),
    basis ? h('p', { class: 'pq-basis', testid: `${testid}-basis`, text: basis }) : null,
  );
}

const safeLink = (url) => (typeof url === 'string' && /^https?:\/\//i.test(url) ? url : null);

/** The report's `development` list: per weak dimension, the called-for level and courses. */
export function developmentList(development, { testid = 'development' } = {}) {
  const items = Array.isArray(development) ? development : [];
  if (!items.length) return h('p', { class: 'muted small', testid, text: t('dev.none') });
  return h(
    'ul',
    { class: 'dev-list', testid },
    items.map((d) =>
      h(
        'li',
        { class: 'dev-item', dataset: { dimension: d.dimension || '' } },
        h(
          'div',
          { class: 'dev-head' },
          h('strong', { text: pick(d.name) || d.dimension || '' }),
          ' ',
          h('span', {
            class: 'muted small',
            text: t('dev.line', { value: d.final_value ?? '—', level: t(`level.${d.level}`, {}, d.level || '') }),
          }),
        ),
        (d.courses || []).length
          ? h(
              'ul',
              { class: 'dev-courses' },
              d.courses.map((c) =>
                h(
                  'li',
                  {},
                  safeLink(c.link)
                    ? h('a', { href: c.link, target: '_blank', rel: 'noopener noreferrer', text: c.course })
                    : h('span', { text: c.course }),
                  ' ',
                  h('span', { class: `badge subtle level-${c.level}`, text: t(`level.${c.level}`, {}, c.level || '') }),
                  c.description ? h('div', { class: 'muted small', text: c.description }) : null,
                ),
              ),
            )
          : h('p', { class: 'muted small', text: t('dev.noCourses') }),
      ),
    ),
  );
}

/** A titled development block (heading, hint and list) for placing under the weaknesses. */
export function developmentBlock(development, { heading = 'h3', testid = 'development' } = {}) {
  return h(
    'div',
    { class: 'dev-block' },
    h(heading, { class: 'dev-title', text: t('dev.title') }),
    h('p', { class: 'muted small', text: t('dev.hint') }),
    developmentList(development, { testid }),
  );
}
