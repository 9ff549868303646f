// The answers column of the review page: per answer the question, the recordings, the
// transcript as clickable words (click → the video seeks there; the playing word is
// highlighted), scratchpad, written answer, time used and flags.

import { h, button, replace } from '../../common/dom.js';
import { card } from '../../staff/ui.js';
import { t, pick } from '../../staff/i18n.js';
import { personalInfo, personalisedNote } from '../../staff/reportparts.js';
import { mediaTime, evidenceList, answeredAs } from '../liveview/common.js';
import { HIGHLIGHT_HOLD_S, CJK, isNum, fmt1, recordingIndexFor, lastStartingBefore } from './common.js';

/**
 * The answers of the review page's `model` drawn into `answersBox`; `mode()` is the
 * interview's mode. The players are kept across redraws (`videos`).
 */
export function answersView(model, answersBox, mode) {
  const videos = new Map(); // "answer:rec" -> <video> (kept across re-renders)
  const wordIndex = new Map(); // "answer:rec" -> [{start, end, el}] sorted by start
  const highlighted = new Map(); // "answer:rec" -> span

  /** Personalised or not: the answer's own fields, else the report's answer of that index. */
  const personalOf = (answer) => {
    const fromReport = ((model.report && model.report.answers) || []).find(
      (a) => Number(a.index) === Number(answer.index),
    );
    return personalInfo(answer, fromReport ? personalInfo(fromReport) : null);
  };

  function seekAndPlay(ai, k, offset) {
    const v = videos.get(`${ai}:${k}`);
    if (!v) return;
    for (const other of videos.values()) if (other !== v && !other.paused) other.pause();
    const target = Math.max(0, offset);
    const go = () => {
      v.currentTime = target;
      const p = v.play();
      if (p && typeof p.catch === 'function') p.catch(() => {});
    };
    if (v.readyState >= 1) go();
    else v.addEventListener('loadedmetadata', go, { once: true });
    highlightAt(ai, k, target);
    if (v.getBoundingClientRect().bottom < 0 || v.getBoundingClientRect().top > window.innerHeight) {
      v.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    }
  }

  /** Seek to media time `s` inside answer `ai` (a flag, a segment). */
  function seekMedia(answer, s) {
    const k = recordingIndexFor(answer.recordings, s);
    if (k < 0) return false;
    seekAndPlay(answer.index, k, s - Number(answer.recordings[k].media_start_s));
    return true;
  }

  function highlightAt(ai, k, fileTime) {
    const key = `${ai}:${k}`;
    const words = wordIndex.get(key) || [];
    const answer = (model.detail.answers || []).find((a) => a.index === ai);
    const rec = answer && answer.recordings[k];
    const prev = highlighted.get(key);
    let next = null;
    if (rec && words.length) {
      const mt = Number(rec.media_start_s) + fileTime;
      const i = lastStartingBefore(words, mt + 0.02);
      if (i >= 0 && mt <= words[i].end + HIGHLIGHT_HOLD_S) next = words[i].el;
    }
    if (prev === next) return;
    if (prev) {
      prev.classList.remove('current');
      prev.removeAttribute('aria-current');
    }
    if (next) {
      next.classList.add('current');
      next.setAttribute('aria-current', 'true');
      keepVisible(next);
      highlighted.set(key, next);
    } else {
      highlighted.delete(key);
    }
  }

  function keepVisible(el) {
    const box = el.closest('.rv-transcript');
    if (!box || box.scrollHeight <= box.clientHeight) return;
    const top = el.offsetTop - box.offsetTop;
    if (top < box.scrollTop || top + el.offsetHeight > box.scrollTop + box.clientHeight) {
      box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    }
  }

  function videoFor(answer, k, url) {
    const key = `${answer.index}:${k}`;
    let v = videos.get(key);
    if (v && v.dataset.url === url) return v;
    // An audio-only interview has no picture: a player without the black video box.
    v = h(mode() === 'audio' ? 'audio' : 'video', {
      controls: true,
      preload: 'metadata',
      playsinline: true,
      src: url,
      class: 'rv-video',
      testid: `review-video-${answer.index}`,
      dataset: {
        url,
        rec: String(k),
        mediaStartS: String(answer.recordings[k] ? answer.recordings[k].media_start_s : ''),
      },
    });
    const onTime = () => highlightAt(answer.index, k, v.currentTime);
    v.addEventListener('timeupdate', onTime);
    v.addEventListener('seeked', onTime);
    videos.set(key, v);
    return v;
  }

  function wordsOf(answer) {
    const out = [];
    for (const seg of answer.transcript_segments || []) {
      const words =
        Array.isArray(seg.words) && seg.words.length
          ? seg.words
          : [{ text: seg.text, start_s: seg.start_s, end_s: seg.end_s }];
      out.push({ seg, words });
    }
    return out;
  }

  function transcriptEl(answer) {
    const segs = wordsOf(answer);
    const tr = model.detail && model.detail.transcription;
    if (!segs.length && tr && tr.available === false) {
      return h('p', {
        class: 'muted',
        testid: 'review-transcription-unavailable',
        text: t('ex.tr.unavailable', { lang: t(`lang.${tr.language}`, {}, tr.language) }),
      });
    }
    if (!segs.length) return h('p', { class: 'muted', testid: 'review-no-transcript', text: t('ex.rv.noTranscript') });
    const perRec = new Map();
    const lines = segs.map(({ seg, words }) => {
      const spans = [];
      let prevText = '';
      for (const w of words) {
        const text = String(w.text || '').trim();
        if (!text) continue;
        const start = Number(w.start_s);
        const k = isNum(w.start_s) ? recordingIndexFor(answer.recordings, start) : -1;
        const offset = k >= 0 ? start - Number(answer.recordings[k].media_start_s) : null;
        const playable = k >= 0 && videos.has(`${answer.index}:${k}`);
        if (prevText && !(CJK.test(prevText.slice(-1)) && CJK.test(text[0]))) spans.push(' ');
        prevText = text;
        const span = h('span', {
          class: `rv-word${playable ? '' : ' nomedia'}`,
          text,
          testid: playable ? 'review-word' : null,
          title: playable ? t('ex.rv.wordTitle', { time: mediaTime(offset) }) : t('ex.rv.noMedia'),
          dataset: {
            startS: isNum(w.start_s) ? String(start) : '',
            endS: isNum(w.end_s) ? String(w.end_s) : '',
            rec: k >= 0 ? String(k) : '',
            offsetS: offset === null ? '' : String(Math.round(offset * 1000) / 1000),
          },
        });
        if (playable) {
          span.addEventListener('click', () => seekAndPlay(answer.index, k, offset));
          const list = perRec.get(k) || [];
          list.push({ start, end: isNum(w.end_s) ? Number(w.end_s) : start, el: span });
          perRec.set(k, list);
        }
        spans.push(span);
      }
      const k0 = isNum(seg.start_s) ? recordingIndexFor(answer.recordings, Number(seg.start_s)) : -1;
      const canSeek = k0 >= 0 && videos.has(`${answer.index}:${k0}`);
      // Shown as a position in the recording (what the video's own timeline says).
      const timeLabel = canSeek
        ? mediaTime(Math.max(0, Number(seg.start_s) - Number(answer.recordings[k0].media_start_s)))
        : mediaTime(seg.start_s);
      const timeBtn = canSeek
        ? button({
            class: 'rv-seg-time',
            text: timeLabel,
            'aria-label': t('ex.rv.segPlay', { time: timeLabel }),
          })
        : h('span', { class: 'rv-seg-time', text: timeLabel });
      if (canSeek) timeBtn.addEventListener('click', () => seekMedia(answer, Number(seg.start_s)));
      return h(
        'p',
        { class: 'rv-seg' },
        timeBtn,
        h('span', { class: 'rv-words', lang: CJK.test(seg.text || '') ? 'zh-CN' : null }, spans),
      );
    });
    for (const [k, list] of perRec) {
      list.sort((a, b) => a.start - b.start);
      wordIndex.set(`${answer.index}:${k}`, list);
    }
    const language = answer.language
      ? h('p', {
          class: 'muted small',
          testid: `review-language-${answer.index}`,
          text: t('ex.rv.lang', { lang: t(`lang.${answer.language}`, {}, answer.language) }),
        })
      : null;
    return h('div', { class: 'rv-transcript', testid: `review-transcript-${answer.index}` }, language, ...lines);
  }

  function flagItem(answer, f) {
    const k = answer && isNum(f.start_s) ? recordingIndexFor(answer.recordings, Number(f.start_s)) : -1;
    const canSeek = k >= 0 && videos.has(`${answer.index}:${k}`);
    // A position in the recording when the flag falls inside one, else media time.
    const shift = canSeek ? Number(answer.recordings[k].media_start_s) : 0;
    const at = (x) => mediaTime(Math.max(0, Number(x) - shift));
    const span = `${at(f.start_s)}–${isNum(f.end_s) ? at(f.end_s) : t('ex.fl.open')}`;
    const timeEl = canSeek
      ? button({
          class: 'rv-seg-time',
          text: span,
          'aria-label': t('ex.rv.segPlay', { time: at(f.start_s) }),
        })
      : h('span', { class: 'ev-time', text: span });
    if (canSeek) timeEl.addEventListener('click', () => seekMedia(answer, Number(f.start_s)));
    return h(
      'li',
      { class: `rv-flag fl-${f.type}`, testid: 'review-flag', dataset: { flag: f.type } },
      h(
        'div',
        { class: 'rv-flag-top' },
        h('span', { class: 'rv-flag-dot', 'aria-hidden': 'true' }),
        h('strong', { text: t(`flag.${f.type}`, {}, f.type) }),
        timeEl,
      ),
      (f.evidence || []).length
        ? evidenceList(f.evidence, 'review-flag-evidence')
        : h('p', { class: 'muted small', text: t('ex.fl.noEvidence') }),
    );
  }

  function answerEl(answer, flags, gaps = []) {
    const answered = answeredAs(mode(), answer.media);
    const urls = Array.isArray(answer.recording_urls) ? answer.recording_urls : null;
    const recs = answer.recordings || [];
    let media;
    if (urls && urls.length) {
      media = h(
        'div',
        { class: 'rv-videos' },
        urls.map((url, k) => {
          const rec = recs[k] || {};
          return h(
            'figure',
            { class: 'rv-figure' },
            videoFor(answer, k, url),
            h(
              'figcaption',
              { class: 'muted small' },
              urls.length > 1 ? h('strong', { text: `${t('ex.rv.recording', { n: k + 1 })} · ` }) : null,
              isNum(rec.media_start_s)
                ? t('ex.rv.recStarts', { start: mediaTime(rec.media_start_s), dur: mediaTime(rec.duration_s) })
                : '',
            ),
          );
        }),
      );
    } else if (recs.length && !urls) {
      media = h('p', { class: 'muted small rv-novideo', text: t('ex.rv.noVideoRole') });
    } else {
      media = h('p', {
        class: 'muted small rv-novideo',
        text: t(mode() === 'text' ? 'ex.rv.noRecording.text' : 'ex.rv.noRecording'),
      });
    }
    const endReason = answer.end_reason ? t(`end.${answer.end_reason}`, {}, answer.end_reason) : null;
    const facts = h(
      'dl',
      { class: 'rv-facts' },
      h(
        'div',
        {},
        h('dt', { text: t('ex.rv.timeUsed') }),
        h('dd', {
          testid: `review-time-used-${answer.index}`,
          text: isNum(answer.answer_used_s) ? t('ex.rv.seconds', { s: fmt1(answer.answer_used_s) }) : t('ex.none'),
        }),
      ),
      endReason ? h('div', {}, h('dt', { text: t('ex.rv.endReason') }), h('dd', { text: endReason })) : null,
      gaps.length
        ? h(
            'div',
            {},
            h('dt', { text: t('ex.rv.networkGaps') }),
            h('dd', {
              testid: `review-network-gaps-${answer.index}`,
              text: t('ex.rv.networkGapsValue', {
                n: gaps.length,
                s: fmt1(gaps.reduce((sum, g) => sum + (Number(g.duration_s) || 0), 0)),
              }),
            }),
          )
        : null,
    );
    const textBlock = (label, value, testid) =>
      h(
        'div',
        { class: 'rv-text' },
        h('h3', { class: 'rv-sub', text: label }),
        value
          ? h('pre', { class: 'textbox rv-pre', testid, text: value })
          : h('p', { class: 'muted small', testid, text: t('ex.rv.empty') }),
      );
    return h(
      'section',
      { class: 'card rv-answer', testid: `review-answer-${answer.index}`, dataset: { index: String(answer.index) } },
      h(
        'div',
        { class: 'rv-q' },
        h(
          'div',
          { class: 'q-line' },
          h('span', { class: 'q-no', text: t('ex.rv.q', { n: answer.index + 1 }) }),
          answer.section ? h('span', { class: 'badge', text: t(`section.${answer.section}`) }) : null,
          answered ? h('span', { class: `badge media media-${answered}`, text: t(`media.${answered}`) }) : null,
        ),
        h('h2', { class: 'rv-qtext', text: pick(answer.question) }),
        personalisedNote(personalOf(answer), { testid: `review-personalised-${answer.index}` }),
      ),
      media,
      mode() === 'text' ? null : h('h3', { class: 'rv-sub', text: t('ex.rv.transcript') }),
      mode() === 'text' ? null : transcriptEl(answer), // a written interview has nothing spoken
      h(
        'div',
        { class: 'rv-cols' },
        textBlock(t('ex.rv.scratchpad'), answer.scratchpad, `review-scratchpad-${answer.index}`),
        answered === 'text' || answer.text_answer
          ? textBlock(t('ex.rv.textAnswer'), answer.text_answer, `review-text-answer-${answer.index}`)
          : null,
      ),
      facts,
      h('h3', { class: 'rv-sub', text: t('ex.rv.flags') }),
      flags.length
        ? h(
            'ul',
            { class: 'rv-flags', testid: `review-flags-${answer.index}` },
            flags.map((f) => flagItem(answer, f)),
          )
        : h('p', { class: 'muted small', testid: `review-flags-${answer.index}`, text: t('ex.rv.noFlags') }),
    );
  }

  function drawAnswers() {
    wordIndex.clear();
    highlighted.clear();
    const d = model.detail;
    if (!d) {
      replace(answersBox, model.loading ? h('p', { class: 'card muted', text: t('common.loading') }) : null);
      return;
    }
    const answers = d.answers || [];
    const flags = d.flags || [];
    const byQ = (i) =>
      flags.filter(
        (f) => Number(f.question_index) === i && f.question_index !== null && f.question_index !== undefined,
      );
    const orphan = flags.filter(
      (f) =>
        f.question_index === null ||
        f.question_index === undefined ||
        !answers.some((a) => a.index === Number(f.question_index)),
    );
    const errs = (d.analyzer_errors || []).length;
    const gapsOf = (i) => (d.network_gaps || []).filter((g) => Number(g.question_index) === i);
    replace(
      answersBox,
      errs ? h('div', { class: 'banner error', role: 'status', text: t('ex.rv.analyzerErrors', { n: errs }) }) : null,
      answers.length
        ? answers.map((a) => answerEl(a, byQ(a.index), gapsOf(a.index)))
        : h('p', { class: 'card muted', testid: 'review-no-answers', text: t('ex.rv.noAnswers') }),
      orphan.length
        ? card(
            { title: t('ex.rv.otherFlags'), class: 'rv-answer' },
            h(
              'ul',
              { class: 'rv-flags' },
              orphan.map((f) => flagItem(null, f)),
            ),
          )
        : null,
    );
    // Words of a video that is already playing light up again at once.
    for (const [key, v] of videos) {
      const [ai, k] = key.split(':').map(Number);
      if (v.isConnected && (v.currentTime > 0 || !v.paused)) highlightAt(ai, k, v.currentTime);
    }
  }

  return { videos, drawAnswers };
}
