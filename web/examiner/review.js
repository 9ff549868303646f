// Review after completion (#/interviews/<id>/review): per answer the question, the recordings,
// the transcript as clickable words (click → the video seeks there; the playing word is
// highlighted), scratchpad, written answer, time used and flags; beside it the human decision
// panel: AI suggestions and human scores kept apart, per-dimension overrides with a required
// comment, advance / hold / reject, every reviewer's recommendation and a printable report.
//
// Times: transcript words, flags and recordings share the interview's media clock. A word
// belongs to the recording whose [media_start_s, media_start_s + duration_s] holds its start;
// its place in that file is start_s - media_start_s.

import { h, replace, clear } from '../common/dom.js';
import { API } from '../staff/api.js';
import { statusBadge, errorBanner } from '../staff/ui.js';
import { t, getLang } from '../staff/i18n.js';
import { modeBadge } from './liveview.js';
import { enc, ReviewAPI } from './review/common.js';
import { answersView } from './review/answers.js';
import { decisionPanel } from './review/panel.js';
import { printView } from './review/print.js';

export { EDGE_TOLERANCE_S, ReviewAPI, recordingIndexFor } from './review/common.js';

// ---------------- view ----------------

export function renderReviewView(main, ctx, interviewId) {
  const model = { detail: null, report: null, reportError: null, loading: true };

  const banner = h('div', { hidden: true });
  const title = h('h1', { tabindex: '-1', text: t('common.loading'), testid: 'review-title' });
  const subline = h('p', { class: 'muted small live-sub' });
  const modeHolder = h('span', { class: 'mode-holder' });
  const statusHolder = h('span', { testid: 'review-status' });
  const liveLink = h('a', { class: 'btn ghost', href: `#/interviews/${enc(interviewId)}`, testid: 'review-live-link' });
  const listLink = h('a', { class: 'btn ghost', href: '#/jobs', testid: 'review-back' });
  const reportLink = h('a', { class: 'btn', href: '#', testid: 'report-link', target: '_blank', rel: 'noopener' });
  const reportNote = h('div', { hidden: true });
  const aiNote = h('div', { class: 'ai-note', role: 'note', testid: 'ai-note' });
  const answersBox = h('div', { class: 'rv-answers', testid: 'review-answers' });
  const panelBox = h('aside', { class: 'rv-side' });
  const printBox = h('section', {
    class: 'rv-print card',
    testid: 'print-report',
    hidden: true,
    'aria-labelledby': 'rv-print-title',
  });

  replace(
    main,
    h(
      'div',
      { class: 'page-head live-head' },
      h('div', { class: 'live-title' }, title, modeHolder, subline),
      h('div', { class: 'page-actions' }, statusHolder, reportLink, liveLink, listLink),
    ),
    banner,
    reportNote,
    aiNote,
    h('div', { class: 'rv-grid', testid: 'review-view', dataset: { interviewId } }, answersBox, panelBox),
    printBox,
  );

  const status = () => (model.report && model.report.status) || (model.detail && model.detail.status) || '';
  const mode = () => (model.detail && model.detail.mode) || (model.report && model.report.mode) || null;

  // ---------------- header ----------------
  function drawHeader() {
    liveLink.textContent = t('ex.rv.toLive');
    listLink.textContent = t('ex.view.back');
    reportLink.textContent = t('ex.rv.report');
    reportLink.href = `/api/interviews/${enc(interviewId)}/report?format=html&lang=${getLang()}`;
    reportLink.hidden = !!model.reportError;
    replace(aiNote, h('strong', { text: t('ex.ai.title') }), ' ', h('span', { text: t('ex.ai.body') }));
    const d = model.detail;
    if (!d) return;
    const name = d.name || (d.candidate && d.candidate.name) || interviewId;
    title.textContent = t('ex.rv.heading', { name });
    document.title = `${name} · ${t('ex.rv.title')} · ${t('ex.title')}`;
    subline.textContent = [
      d.email || (d.candidate && d.candidate.email),
      d.job_title || (model.report && model.report.job && model.report.job.title),
    ]
      .filter(Boolean)
      .join(' · ');
    if (d.job_id) listLink.href = `#/jobs/${enc(d.job_id)}`;
    replace(statusHolder, statusBadge(status()));
    replace(modeHolder, modeBadge(mode()));
  }

  // ---------------- answers, decision panel, printable report ----------------
  const { videos, drawAnswers } = answersView(model, answersBox, mode);
  const print = printView(model, printBox, mode);
  const { drawPrint, showPrintSection } = print;
  const { drawPanel } = decisionPanel(ctx, interviewId, model, panelBox, {
    status,
    onDrawn: () => {
      if (print.shown()) drawPrint();
    },
  });

  // The HTML report needs the bearer token, so it is fetched here and shown from a Blob URL.
  // The window is opened inside the click (popup blockers allow that) and pointed at the blob
  // once it exists; when no window can be opened the report is drawn on this page instead.
  reportLink.addEventListener('click', async (ev) => {
    ev.preventDefault();
    errorBanner(reportNote, null);
    let win = null;
    try {
      win = window.open('', '_blank');
    } catch {
      win = null;
    }
    if (win) {
      try {
        win.document.title = t('ex.rv.reportOpening');
        win.document.body.textContent = t('ex.rv.reportOpening');
      } catch {
        /* cross-origin or closed */
      }
    }
    try {
      const lang = getLang();
      let html = await ReviewAPI.reportHtml(interviewId, lang);
      // A blob document has no usable base URL: make the report's /static/ stylesheet resolve.
      const base = `<base href="${location.origin}/">`;
      html = /<head[^>]*>/i.test(html) ? html.replace(/<head([^>]*)>/i, `<head$1>${base}`) : base + html;
      const url = URL.createObjectURL(new Blob([html], { type: 'text/html;charset=utf-8' }));
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      if (win && !win.closed) {
        win.location.href = url;
        try {
          win.opener = null;
        } catch {
          /* ignore */
        }
      } else {
        showPrintSection();
        const n = h('div', {
          class: 'banner',
          role: 'status',
          testid: 'report-fallback',
          text: t('ex.rv.reportBlocked'),
        });
        reportNote.hidden = false;
        replace(reportNote, n);
      }
    } catch (e) {
      if (win && !win.closed) win.close();
      if (!ctx.alive) return;
      if (model.report) showPrintSection();
      errorBanner(reportNote, e);
    }
  });

  // ---------------- load ----------------
  async function load() {
    model.loading = true;
    const [detail, report] = await Promise.allSettled([API.interview(interviewId), ReviewAPI.report(interviewId)]);
    if (!ctx.alive) return;
    model.loading = false;
    if (detail.status === 'fulfilled') {
      model.detail = detail.value;
      banner.hidden = true;
    } else {
      title.textContent = t('ex.view.notFound');
      errorBanner(banner, detail.reason);
    }
    if (report.status === 'fulfilled') {
      model.report = report.value;
      model.reportError = null;
    } else model.reportError = report.reason;
    drawAll();
    main.querySelector('[data-testid="review-view"]').dataset.loaded = 'true';
  }

  function drawAll() {
    drawHeader();
    drawAnswers();
    drawPanel();
  }

  drawAll();
  load();

  ctx.onLang = () => {
    // Keep what was typed and the videos (they are moved, not recreated, so playback goes on).
    drawAll();
    if (print.shown()) drawPrint();
  };

  return () => {
    for (const v of videos.values()) {
      try {
        v.pause();
      } catch {
        /* ignore */
      }
    }
    videos.clear();
    document.body.classList.remove('rv-print-mode');
    clear(printBox);
  };
}
