// Shared pieces of the résumé intake (#/jobs/<id>/resumes): limits, formatting, the candidate
// status badge, the batch summary, the invitation link look-up, the score meter and the
// eligibility mark.

import { h } from '../../common/dom.js';
import { API } from '../../staff/api.js';
import { t } from '../../staff/i18n.js';

export const CANDIDATE_STATUSES = ['waiting', 'invited', 'not_selected'];
export const RESUME_ACCEPT = '.pdf,.docx,.txt,.zip';
export const MAX_BATCH_BYTES = 200 * 1024 * 1024;
export const MAX_FILES_PER_BATCH = 1000;
/** Poll the batch status when no live progress arrived for this long. */
export const LIVE_SILENCE_MS = 1500;
export const POLL_EVERY_MS = 1000;

export const fmtBytes = (n) => {
  const v = Number(n) || 0;
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KB`;
  return `${(v / 1024 / 1024).toFixed(1)} MB`;
};

export const fmt1 = (x) =>
  x === null || x === undefined || Number.isNaN(Number(x)) ? '—' : String(Math.round(Number(x) * 10) / 10);
export const displayName = (c) => c.name || t('res.noName');
export const baseName = (path) =>
  String(path || 'resume')
    .split('/')
    .pop() || 'resume';

export function candidateStatusBadge(status) {
  return h('span', {
    class: `badge cstatus cstatus-${status}`,
    dataset: { status },
    testid: 'candidate-status',
    text: t(`cstatus.${status}`, {}, status),
  });
}

/** Imported / invited-automatically / duplicate counts of a finished batch. `known`: candidate
 *  ids that existed before the upload (the batch status carries no `duplicate` flag). */
export function summarise(result, known) {
  const seen = new Set();
  const out = { imported: 0, invited: 0, duplicates: [], errors: (result.errors || []).length };
  for (const c of result.candidates || []) {
    const dup = c.duplicate === true || known.has(c.candidate_id) || seen.has(c.candidate_id);
    seen.add(c.candidate_id);
    if (dup) out.duplicates.push(c);
    else {
      out.imported += 1;
      if (c.status === 'invited') out.invited += 1;
    }
  }
  return out;
}

/** The invitation link of an interview: from the invite answer when it has one, else from
 *  the invitation in the job's outbox (its body holds the link on a line of its own). */
export async function invitationUrl(jobId, interviewId, answer) {
  const direct = answer && (answer.url || (answer.invitation && answer.invitation.url));
  if (direct) return direct;
  const rows = await API.outbox(jobId);
  const mine = (rows || [])
    .filter((r) => r.interview_id === interviewId && r.kind === 'invitation')
    .sort((a, b) => Number(b.created_at || 0) - Number(a.created_at || 0));
  for (const r of mine) {
    if (r.url) return r.url;
    const m = String(r.body || '').match(/https?:\/\/\S+\/i\/\S+/);
    if (m) return m[0];
  }
  return null;
}

/** A 0–100 match score as a meter (red under 40, green from 70). */
export function scoreMeter(score, attrs) {
  return h('meter', { min: '0', max: '100', low: '40', high: '70', optimum: '100', value: String(score), ...attrs });
}

export function eligibleMark(eligible) {
  const yes = eligible === true;
  return h(
    'span',
    {
      class: `elig ${yes ? 'yes' : 'no'}`,
      testid: 'cand-eligible',
      dataset: { eligible: yes ? 'true' : 'false' },
      title: t(yes ? 'res.eligible.yes' : 'res.eligible.no'),
    },
    h('span', { 'aria-hidden': 'true', text: yes ? '✓' : '✗' }),
    h('span', { class: 'visually-hidden', text: t(yes ? 'res.eligible.yes' : 'res.eligible.no') }),
  );
}
