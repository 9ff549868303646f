// Interview detail: status, answers (question, times, scratchpad, text answer, recordings).

import { h, button, replace } from '../common/dom.js';
import { API } from '../staff/api.js';
import { t, pick } from '../staff/i18n.js';
import {
  card,
  statusBadge,
  fmtDate,
  languageName,
  errorBanner,
  notice,
  pageHeader,
  confirmDialog,
  TERMINAL,
  timeEl,
  backToJobs,
} from '../staff/ui.js';
import { canSeeReports } from './report.js';
import { modeBadge, personalInfo, personalisedNote } from '../staff/reportparts.js';

const name = (iv) => iv.candidate_name ?? iv.name ?? (iv.candidate && iv.candidate.name) ?? '';
const email = (iv) => iv.email ?? iv.candidate_email ?? (iv.candidate && iv.candidate.email) ?? '';

/** recording_urls may be a list of strings or of {url, kind|label}. */
function urlsOf(value) {
  if (!value) return [];
  const list = Array.isArray(value) ? value : [value];
  return list
    .map((u) => (typeof u === 'string' ? { url: u } : { url: u.url || u.href, label: u.kind || u.label }))
    .filter((u) => u.url);
}

function videos(urls, label) {
  if (!urls.length) return null;
  return h(
    'div',
    { class: 'recordings' },
    urls.map((u, i) =>
      h(
        'figure',
        { class: 'recording' },
        h('video', {
          controls: true,
          preload: 'metadata',
          src: u.url,
          testid: 'recording',
          'aria-label': `${label} ${i + 1}`,
        }),
        h(
          'figcaption',
          { class: 'muted small' },
          u.label ? `${u.label} · ` : '',
          h('a', { href: u.url, target: '_blank', rel: 'noopener', text: t('iv.openVideo') }),
        ),
      ),
    ),
  );
}

function timesOf(a) {
  const rows = [];
  for (const [key, value] of Object.entries(a)) {
    if (value === null || value === undefined || value === '') continue;
    if (/_at$/.test(key)) rows.push([key, timeEl(value)]);
    else if (/_(s|ms)$/.test(key) && typeof value === 'number') {
      const s = key.endsWith('_ms') ? value / 1000 : value;
      rows.push([key, `${Math.round(s * 10) / 10} s`]);
    }
  }
  if (!rows.length) return null;
  return h(
    'dl',
    { class: 'times' },
    rows.map(([k, v]) => [h('dt', { text: t(`time.${k}`, {}, k) }), h('dd', {}, v)]),
  );
}

export function renderInterview(main, ctx, interviewId) {
  const banner = h('div', { hidden: true });
  const backHref = backToJobs();
  const head = pageHeader(t('common.loading'), backHref);
  const summary = h('section', { class: 'card' });
  const answers = h('section', { class: 'answers', 'aria-label': t('iv.answers') });
  replace(main, head, banner, summary, answers);
  let unsub = () => {};
  let statusHolder = null;
  let revokeBtn = null;
  const reportLink = canSeeReports(ctx.session)
    ? h('a', {
        class: 'btn',
        href: `#/interviews/${encodeURIComponent(interviewId)}/report`,
        testid: 'interview-report-link',
        text: t('detail.report'),
        hidden: true,
      })
    : null;

  const setStatus = (status) => {
    if (!statusHolder) return;
    replace(statusHolder, statusBadge(status));
    if (revokeBtn) revokeBtn.disabled = TERMINAL.has(status);
    if (reportLink) reportLink.hidden = status !== 'completed';
  };

  API.interview(interviewId)
    .then((iv) => {
      if (!ctx.alive) return;
      const id = iv.id ?? iv.interview_id ?? interviewId;
      if (iv.job_id) backHref.href = `#/jobs/${encodeURIComponent(iv.job_id)}`;
      if (iv.job_id) backHref.textContent = `← ${iv.job_title || t('iv.backToJob')}`;
      replace(head, ...pageHeader(name(iv) || id, backHref).childNodes);

      statusHolder = h('span', { testid: 'interview-detail-status' });
      revokeBtn = button({
        class: 'btn danger-outline',
        testid: 'interview-revoke',
        text: t('detail.revoke'),
        on: {
          click: async () => {
            if (
              !(await confirmDialog(t('detail.revokeConfirm', { name: name(iv) || id }), {
                ok: t('detail.revoke'),
                danger: true,
              }))
            )
              return;
            revokeBtn.disabled = true;
            try {
              const res = await API.revoke(id);
              if (!ctx.alive) return;
              setStatus((res && res.status) || 'revoked');
              notice(banner, t('detail.revoked', { name: name(iv) || id }));
            } catch (e) {
              if (!ctx.alive) return;
              revokeBtn.disabled = false;
              errorBanner(banner, e);
            }
          },
        },
      });
      setStatus(iv.status);
      const info = [
        ['col.status', statusHolder],
        ['col.email', email(iv) || '—'],
        ['iv.phone', iv.phone || (iv.candidate && iv.candidate.phone) || '—'],
        ['invite.language', languageName(iv.language)],
        iv.mode ? ['mode.label', modeBadge(iv.mode)] : null,
        ['col.created', fmtDate(iv.created_at)],
        ['col.updated', fmtDate(iv.updated_at)],
        ['col.expires', fmtDate(iv.expires_at)],
      ];
      replace(
        summary,
        h(
          'div',
          { class: 'card-head' },
          h('h2', { class: 'card-title', text: t('iv.summary') }),
          h('div', { class: 'page-actions' }, reportLink, revokeBtn),
        ),
        h(
          'dl',
          { class: 'info' },
          info.filter(Boolean).map(([k, v]) => [h('dt', { text: t(k) }), h('dd', {}, v)]),
        ),
      );

      // Recordings may come per answer or for the whole interview (list, or {index: urls}).
      const top = iv.recording_urls;
      const byIndex = top && !Array.isArray(top) && typeof top === 'object' ? top : null;
      const list = Array.isArray(iv.answers) ? iv.answers : [];
      if (!list.length) {
        replace(answers, h('p', { class: 'card muted', testid: 'no-answers', text: t('iv.noAnswers') }));
      } else {
        replace(
          answers,
          h('h2', { class: 'section-title', text: t('iv.answers') }),
          list.map((a, i) => {
            // `question` is either the question's {zh, en} text or a full Question object.
            const rawQ = a.question || {};
            const isText = typeof rawQ === 'string' || rawQ.zh !== undefined || rawQ.en !== undefined;
            const q = isText ? { text: typeof rawQ === 'string' ? { zh: rawQ } : rawQ } : rawQ;
            const media = a.media || q.media;
            const index = a.index ?? i;
            const urls = urlsOf(a.recording_urls || (byIndex && byIndex[index]));
            const text = q.text || {};
            return h(
              'article',
              { class: 'card answer', testid: `answer-${index}` },
              h(
                'header',
                { class: 'answer-head' },
                h('span', { class: 'answer-no', text: `${index + 1}` }),
                h(
                  'div',
                  {},
                  h(
                    'div',
                    { class: 'q-meta' },
                    a.section || q.section
                      ? h('span', { class: 'badge', text: t(`section.${a.section || q.section}`) })
                      : null,
                    media ? h('span', { class: `badge media media-${media}`, text: t(`media.${media}`) }) : null,
                    q.prep_s !== undefined
                      ? h('span', { class: 'q-times', text: t('q.times', { prep: q.prep_s, answer: q.answer_s }) })
                      : null,
                    a.status ? h('span', { class: 'badge subtle', text: t(`answer.${a.status}`, {}, a.status) }) : null,
                    a.end_reason
                      ? h('span', { class: 'muted small', text: t(`end.${a.end_reason}`, {}, a.end_reason) })
                      : null,
                  ),
                  h('p', { class: 'q-text' }, pick(text) || a.question_id || q.id || ''),
                  text.zh && text.en
                    ? h('p', { class: 'muted small', text: pick(text) === text.zh ? text.en : text.zh })
                    : null,
                  personalisedNote(personalInfo(a), { testid: `personalised-${index}` }),
                ),
              ),
              timesOf(a),
              h(
                'div',
                { class: 'grid two' },
                h(
                  'div',
                  {},
                  h('h3', { text: t('iv.scratchpad') }),
                  h('pre', { class: 'textbox', testid: 'scratchpad', text: a.scratchpad || t('iv.empty') }),
                ),
                h(
                  'div',
                  {},
                  h('h3', { text: t('iv.textAnswer') }),
                  h('pre', { class: 'textbox', testid: 'text-answer', text: a.text_answer || t('iv.empty') }),
                ),
              ),
              videos(urls, t('iv.recording')),
            );
          }),
        );
      }
      if (Array.isArray(top) && top.length) {
        answers.append(card({ title: t('iv.recordings') }, videos(urlsOf(top), t('iv.recording'))));
      }

      if (iv.job_id) {
        unsub = ctx.live.subscribe(`job:${iv.job_id}`, (msg) => {
          if (msg.type === 'status' && String(msg.interview_id) === String(id)) setStatus(msg.status);
        });
      }
    })
    .catch((e) => {
      if (!ctx.alive) return;
      replace(head, ...pageHeader(t('iv.notFound'), backHref).childNodes);
      errorBanner(banner, e);
    });

  return () => unsub();
}
