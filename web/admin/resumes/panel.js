// The candidate panel of the résumé intake: every extracted value beside the résumé text it
// came from, why each criterion is met or not, and the person's decision.

import { h, button, replace, downloadBlob } from '../../common/dom.js';
import { API, ApiError } from '../../staff/api.js';
import { t } from '../../staff/i18n.js';
import { confirmDialog, errorText, linkBox } from '../../staff/ui.js';
import { isAdmin } from '../settings.js';
import { degreeLabel } from '../screening.js';
import {
  fmtBytes,
  fmt1,
  displayName,
  baseName,
  candidateStatusBadge,
  invitationUrl,
  scoreMeter,
  eligibleMark,
} from './common.js';

/** A value and, one click away (or on hover), the résumé text it was extracted from. */
function sourced(value, source, testid) {
  if (value === null || value === undefined || value === '')
    return h('span', { class: 'muted', text: t('res.noneFound') });
  if (!source) return h('span', { class: 'val', testid, text: String(value) });
  return h(
    'details',
    { class: 'src', testid },
    h('summary', { title: `${t('res.source')}: ${source}` }, h('span', { class: 'val', text: String(value) })),
    h(
      'blockquote',
      { class: 'src-quote', testid: testid ? `${testid}-source` : null },
      h('span', { class: 'visually-hidden', text: `${t('res.source')}: ` }),
      source,
    ),
  );
}

const dateText = (d) => (d === 'present' ? t('res.present') : d || '?');
const span = (a, b) => (a || b ? `${dateText(a)} – ${dateText(b)}` : '');

export function candidatePanel(ctx, jobId, initial, { onChange, onErased }) {
  let c = initial;
  let linkState = null; // {url} | {missing: true} once looked up
  const admin = isAdmin(ctx.session);
  const titleId = 'cand-panel-title';
  const content = h('div', { class: 'drawer-body' });
  const closeBtn = button({
    class: 'btn ghost small drawer-close',
    testid: 'candidate-close',
    text: `✕ ${t('res.panel.close')}`,
  });
  const dlg = h(
    'dialog',
    {
      class: 'drawer',
      testid: 'candidate-panel',
      'aria-labelledby': titleId,
      dataset: { candidateId: c.candidate_id },
    },
    closeBtn,
    content,
  );
  closeBtn.addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => dlg.remove());
  dlg.addEventListener('click', (ev) => {
    // a click on the backdrop (outside the box) closes
    if (ev.target !== dlg) return;
    const r = dlg.getBoundingClientRect();
    if (ev.clientX < r.left || ev.clientX > r.right || ev.clientY < r.top || ev.clientY > r.bottom) dlg.close();
  });
  const status = h('div', { class: 'panel-status', testid: 'candidate-message', 'aria-live': 'polite' });

  function section(title, ...children) {
    return h('section', { class: 'panel-section' }, h('h3', { text: title }), children);
  }

  function contact() {
    const src = c.sources || {};
    return section(
      t('res.contact'),
      h(
        'dl',
        { class: 'info' },
        h('dt', { text: t('res.name') }),
        h('dd', {}, sourced(c.name, src.name, 'field-name')),
        h('dt', { text: t('res.email') }),
        h('dd', {}, sourced(c.email, src.email, 'field-email')),
        h('dt', { text: t('res.phone') }),
        h('dd', {}, sourced(c.phone, src.phone, 'field-phone')),
        h('dt', { text: t('res.file') }),
        h(
          'dd',
          {},
          h('code', { text: baseName(c.filename) }),
          ' ',
          h('span', { class: 'muted small', text: fmtBytes(c.file_bytes) }),
        ),
      ),
    );
  }

  function education() {
    const items = c.education || [];
    return section(
      t('res.education'),
      items.length
        ? h(
            'ul',
            { class: 'entries', testid: 'field-education' },
            items.map((e) => {
              const head = [e.degree ? degreeLabel(e.degree) : e.degree_text || '', e.school, e.major]
                .filter(Boolean)
                .join(' · ');
              return h(
                'li',
                {},
                sourced(head || t('res.unknown'), e.source),
                span(e.start, e.end) ? h('div', { class: 'muted small', text: span(e.start, e.end) }) : null,
              );
            }),
          )
        : h('p', { class: 'muted small', text: t('res.noneFound') }),
    );
  }

  function experience() {
    const items = c.experience || [];
    return section(
      t('res.experience'),
      h('p', {
        class: 'small',
        testid: 'field-years',
        text: t('res.experienceTotal', { n: fmt1(c.experience_years) }),
      }),
      items.length
        ? h(
            'ul',
            { class: 'entries', testid: 'field-experience' },
            items.map((e) => {
              const head = [e.role, e.employer].filter(Boolean).join(' @ ');
              const when = [
                span(e.start, e.end),
                e.months !== null && e.months !== undefined ? t('res.months', { n: e.months }) : null,
              ]
                .filter(Boolean)
                .join(' · ');
              return h(
                'li',
                {},
                sourced(head || t('res.unknown'), e.source),
                when ? h('div', { class: 'muted small', text: when }) : null,
              );
            }),
          )
        : h('p', { class: 'muted small', text: t('res.noneFound') }),
    );
  }

  function terms(title, values, sources, testid) {
    return section(
      title,
      (values || []).length
        ? h(
            'ul',
            { class: 'term-list', testid },
            values.map((v) => h('li', {}, sourced(v, (sources || {})[v]))),
          )
        : h('p', { class: 'muted small', testid, text: t('res.noneFound') }),
    );
  }

  function criteria() {
    const match = c.match || {};
    const list = match.criteria || [];
    return section(
      t('res.match'),
      h(
        'p',
        { class: 'match-line' },
        scoreMeter(Number(match.score) || 0, { 'aria-hidden': 'true' }),
        ' ',
        h('strong', { testid: 'panel-score', text: t('res.scoreOf', { n: fmt1(match.score) }) }),
        ' ',
        eligibleMark(match.eligible),
        h('span', {
          class: 'small',
          'aria-hidden': 'true',
          text: `${t('res.col.eligible')}: ${t(match.eligible ? 'res.eligible.yes' : 'res.eligible.no')}`,
        }),
      ),
      list.length
        ? h(
            'ul',
            { class: 'crit-list', testid: 'criteria' },
            list.map((k) =>
              h(
                'li',
                { class: `crit ${k.met ? 'met' : 'unmet'}`, dataset: { kind: k.kind, met: k.met ? 'true' : 'false' } },
                h('span', { class: 'crit-mark', 'aria-hidden': 'true', text: k.met ? '✓' : '✗' }),
                h(
                  'div',
                  { class: 'crit-body' },
                  h(
                    'div',
                    {},
                    h('span', { class: 'visually-hidden', text: `${t(k.met ? 'res.crit.met' : 'res.crit.unmet')}: ` }),
                    h('span', { class: 'crit-text', testid: 'criterion-explanation', text: k.explanation || '' }),
                    ' ',
                    h('span', {
                      class: `badge subtle ${k.must ? 'must' : 'nice'}`,
                      text: k.must ? t('res.crit.must') : t('res.crit.nice', { w: k.weight }),
                    }),
                  ),
                  k.source
                    ? h(
                        'details',
                        { class: 'src' },
                        h('summary', { class: 'small', text: t('res.source') }),
                        h('blockquote', { class: 'src-quote', text: k.source }),
                      )
                    : null,
                ),
              ),
            ),
          )
        : h('p', { class: 'muted small', text: t('res.match.none') }),
      h('p', { class: 'muted small', text: t('res.thresholdNote') }),
    );
  }

  function actions() {
    const btns = [];
    if (c.status !== 'invited') {
      btns.push(
        button({
          class: 'btn primary',
          testid: 'candidate-invite',
          text: t('res.act.invite'),
          on: { click: (ev) => invite(ev.currentTarget) },
        }),
      );
    }
    if (c.status === 'waiting') {
      btns.push(
        button({
          class: 'btn',
          testid: 'candidate-not-selected',
          text: t('res.act.notSelected'),
          on: { click: (ev) => setStatus('not_selected', ev.currentTarget) },
        }),
      );
    } else if (c.status === 'not_selected') {
      btns.push(
        button({
          class: 'btn',
          testid: 'candidate-waiting',
          text: t('res.act.backToWaiting'),
          on: { click: (ev) => setStatus('waiting', ev.currentTarget) },
        }),
      );
    } else if (c.status === 'invited' && c.interview_id) {
      btns.push(
        h('a', {
          class: 'btn',
          href: `#/interviews/${encodeURIComponent(c.interview_id)}`,
          testid: 'candidate-interview',
          text: t('res.act.openInterview'),
        }),
      );
      if (!linkState)
        btns.push(
          button({
            class: 'btn',
            testid: 'candidate-show-link',
            text: t('res.act.showLink'),
            on: { click: (ev) => showLink(ev.currentTarget) },
          }),
        );
    }
    const files = [];
    if (c.file_bytes)
      files.push(
        button({
          class: 'btn',
          testid: 'candidate-download',
          text: t('res.act.download'),
          on: { click: (ev) => download(ev.currentTarget) },
        }),
      );
    if (admin)
      files.push(
        button({
          class: 'btn danger-outline',
          testid: 'candidate-erase',
          text: t('res.act.erase'),
          on: { click: (ev) => erase(ev.currentTarget) },
        }),
      );
    let link = null;
    if (linkState && linkState.url) {
      link = h(
        'div',
        { class: 'result', testid: 'candidate-invite-result' },
        linkState.fresh ? h('p', { class: 'ok-text', text: t('res.invited', { name: displayName(c) }) }) : null,
        linkBox(linkState.url, 'candidate-invite-link'),
      );
    } else if (linkState && linkState.missing) {
      link = h('p', { class: 'muted small', testid: 'candidate-invite-result', text: t('res.linkUnavailable') });
    }
    return section(
      t('res.act.title'),
      h('p', { class: 'muted small', text: t('res.act.note') }),
      h('div', { class: 'form-actions left' }, btns),
      link,
      h('div', { class: 'form-actions left' }, files),
      status,
    );
  }

  function draw() {
    const allOpen = content.dataset.allOpen === 'true'; // "show all" survives a re-render
    const toggle = button({
      class: 'btn ghost small',
      testid: 'toggle-sources',
      'aria-pressed': 'false',
      text: t('res.panel.showSources'),
    });
    toggle.addEventListener('click', () => {
      const open = toggle.getAttribute('aria-pressed') !== 'true';
      for (const d of content.querySelectorAll('details.src')) d.open = open;
      toggle.setAttribute('aria-pressed', open ? 'true' : 'false');
      toggle.textContent = t(open ? 'res.panel.hideSources' : 'res.panel.showSources');
      content.dataset.allOpen = open ? 'true' : 'false';
    });
    dlg.dataset.status = c.status;
    replace(
      content,
      h(
        'header',
        { class: 'drawer-head' },
        h('h2', { id: titleId, testid: 'candidate-name', text: displayName(c) }),
        candidateStatusBadge(c.status),
      ),
      h('div', { class: 'sources-note' }, h('p', { class: 'small', text: t('res.panel.sourcesHint') }), toggle),
      h(
        'div',
        { class: 'drawer-cols' },
        h(
          'div',
          {},
          contact(),
          education(),
          experience(),
          terms(t('res.skills'), c.skills, (c.sources || {}).skills, 'field-skills'),
          terms(t('res.certificates'), c.certificates, (c.sources || {}).certificates, 'field-certificates'),
        ),
        h('div', {}, criteria(), actions()),
      ),
    );
    if (allOpen) toggle.click();
  }

  const say = (text, kind = 'ok') => {
    replace(
      status,
      h('p', { class: kind === 'ok' ? 'ok-text small' : 'form-error', role: kind === 'ok' ? 'status' : 'alert', text }),
    );
  };
  // 409 `conflict`: someone else changed the candidate; other refusals (e.g. `cannot_invite`) say why
  const errText = (e) => (e.code === 'conflict' ? t('res.conflict') : errorText(e));

  function update(next) {
    c = next;
    onChange(next);
    draw();
  }

  async function lookUpLink(answer, fresh) {
    try {
      const url = await invitationUrl(jobId, c.interview_id, answer);
      linkState = url ? { url, fresh } : { missing: true };
    } catch {
      linkState = { missing: true };
    }
  }

  async function invite(btn) {
    btn.disabled = true;
    try {
      const res = await API.inviteCandidate(c.candidate_id);
      if (!ctx.alive) return;
      c = res;
      await lookUpLink(res, true);
      update(res);
      const box = content.querySelector('[data-testid="candidate-invite-link"]');
      if (box) box.focus();
    } catch (e) {
      btn.disabled = false;
      if (e instanceof ApiError && e.code === 'cannot_invite') {
        const why = /e-mail/.test(e.message)
          ? t('res.missing.email')
          : /name/.test(e.message)
            ? t('res.missing.name')
            : e.message;
        say(t('res.cannotInvite', { msg: why }), 'error');
      } else say(errText(e), 'error');
    }
  }

  async function showLink(btn) {
    btn.disabled = true;
    await lookUpLink(null, false);
    if (ctx.alive) draw();
  }

  async function setStatus(next, btn) {
    const key = next === 'not_selected' ? 'res.confirm.notSelected' : 'res.confirm.waiting';
    const ok = await confirmDialog(t(key, { name: displayName(c) }), {
      ok: t(next === 'not_selected' ? 'res.act.notSelected' : 'res.act.backToWaiting'),
    });
    if (!ok) return;
    btn.disabled = true;
    try {
      const res = await API.setCandidateStatus(c.candidate_id, next);
      if (!ctx.alive) return;
      update(res);
      say(t('res.statusChanged'));
    } catch (e) {
      btn.disabled = false;
      say(errText(e), 'error');
    }
  }

  async function download(btn) {
    btn.disabled = true;
    try {
      const blob = await API.resumeFile(c.candidate_id);
      downloadBlob(baseName(c.filename), blob);
    } catch (e) {
      say(errText(e), 'error');
    } finally {
      btn.disabled = false;
    }
  }

  async function erase(btn) {
    const ok = await confirmDialog(t('res.confirm.erase', { name: displayName(c) }), {
      ok: t('res.act.erase'),
      danger: true,
    });
    if (!ok) return;
    btn.disabled = true;
    try {
      await API.eraseCandidate(c.candidate_id);
      dlg.close();
      onErased(c.candidate_id);
    } catch (e) {
      btn.disabled = false;
      say(errText(e), 'error');
    }
  }

  draw();
  document.body.appendChild(dlg);
  dlg.showModal();
  closeBtn.focus();
  // The list row may be stale (e.g. invited by re-matching since): fetch the current state.
  API.candidate(c.candidate_id)
    .then((fresh) => {
      if (dlg.open && fresh && fresh.status !== c.status) update(fresh);
    })
    .catch(() => {});
  return dlg;
}
