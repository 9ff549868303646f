// Résumé intake for one job (#/jobs/<id>/resumes, HR and admins).
//
// Screening settings beside the upload; the upload answers 202 with a batch, whose progress
// arrives as `resume_progress` messages on the job's live topic (the status URL is polled
// every second when those stop coming) and ends with the per-file errors and a summary.
// The candidate list is best match first; a row opens a panel where a person checks every
// extracted value against the résumé text it came from, reads why each criterion is met or
// not, and decides. The system itself never rejects anyone.

import { h, replace } from '../common/dom.js';
import { API } from '../staff/api.js';
import { t } from '../staff/i18n.js';
import { errorBanner, notice } from '../staff/ui.js';
import { screeningCard } from './screening.js';
import { uploadCard } from './resumes/upload.js';
import { candidateList } from './resumes/list.js';
import { candidatePanel } from './resumes/panel.js';

export function renderResumes(root, ctx, jobId) {
  const state = { candidates: [], filter: 'all', loaded: false };
  const banner = h('div', { hidden: true });
  const list = candidateList(ctx, state, (c) => openPanel(c));
  const upload = uploadCard(
    ctx,
    jobId,
    () => new Set(state.candidates.map((c) => c.candidate_id)),
    () => loadCandidates(),
  );
  const screening = screeningCard(ctx, jobId, { onSaved: () => loadCandidates() });

  replace(
    root,
    h('p', { class: 'banner info never-rejects', role: 'note', testid: 'never-rejects', text: t('res.neverRejects') }),
    banner,
    h('div', { class: 'grid two resumes-top' }, screening, upload.el),
    list.el,
  );

  async function loadCandidates() {
    try {
      const rows = await API.candidates(jobId);
      if (!ctx.alive) return;
      state.candidates = Array.isArray(rows) ? rows : [];
      state.loaded = true;
      list.draw();
    } catch (e) {
      if (ctx.alive) errorBanner(banner, e);
    }
  }

  function replaceCandidate(updated) {
    const i = state.candidates.findIndex((c) => c.candidate_id === updated.candidate_id);
    if (i >= 0) state.candidates[i] = updated;
    list.draw();
  }

  let panel = null;
  function openPanel(candidate) {
    panel = candidatePanel(ctx, jobId, candidate, {
      onChange: replaceCandidate,
      onErased: (id) => {
        state.candidates = state.candidates.filter((c) => c.candidate_id !== id);
        list.draw();
        notice(banner, t('res.erased'));
      },
    });
  }

  // An interview status change may be an invitation made elsewhere (e.g. re-matching).
  let reloadTimer = null;
  const unsub = ctx.live.subscribe(`job:${jobId}`, (msg) => {
    if (msg.type === 'resume_progress') upload.onProgress(msg);
    else if (msg.type === 'status' && msg.status === 'invited' && !upload.busy()) {
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(() => {
        if (ctx.alive) loadCandidates();
      }, 500);
    }
  });

  loadCandidates();
  return () => {
    unsub();
    clearTimeout(reloadTimer);
    upload.stop();
    if (panel && panel.open) panel.close(); // leaving the view (or switching language)
  };
}
