// Examiner live page strings (Simplified Chinese / English).
// The language state, the switch and the shared strings (statuses, roles, sections, login)
// come from the admin page's i18n module, so a language chosen there carries over here.

import { DICTS, t, getLang, setLang, onLangChange, pick, applyStatic } from '../admin/i18n.js';

const zh = {
  'ex.title': 'Interview Live · 考官实时面板',
  'ex.console': '考官实时面板',
  'ex.nav.jobs': '选择岗位',
  'ex.nav.admin': '管理后台',
  'ex.login.subtitle': '考官实时面板：查看进行中的面试',

  'ex.jobs.title': '选择岗位',
  'ex.jobs.empty': '没有可查看的岗位。',
  'ex.jobs.live': '{n} 场进行中',
  'ex.jobs.total': '共 {n} 位候选人',
  'ex.jobs.open': '查看面试',

  'ex.list.title': '面试列表',
  'ex.list.back': '← 全部岗位',
  'ex.list.empty': '这个岗位还没有面试。',
  'ex.list.caption': '候选人面试，进行中的排在最前',
  'ex.list.candidate': '候选人',
  'ex.list.status': '状态',
  'ex.list.updated': '更新时间',
  'ex.list.watch': '实时查看',
  'ex.list.view': '查看',

  'ex.view.back': '← 面试列表',
  'ex.view.notFound': '找不到这场面试',
  'ex.view.question': '第 {n}/{total} 题',
  'ex.view.noQuestion': '尚未开始答题',
  'ex.view.finished': '面试已结束',
  'ex.view.paused': '已暂停（候选人连接中断）',
  'ex.view.phase.prep': '准备中',
  'ex.view.phase.answer': '作答中',
  'ex.view.remaining': '剩余时间',
  'ex.view.liveQ': '分析中的题目：第 {n} 题',
  'ex.view.resynced': '已重新同步',

  'ex.ai.title': 'AI 建议，仅供参考',
  'ex.ai.body': '以下评分、理由与提示均由系统自动生成，只作为参考。是否录用及最终评分由考官决定。',

  'ex.tr.title': '实时转写',
  'ex.tr.empty': '候选人开始说话后，这里会实时显示转写内容。',
  'ex.tr.partial': '识别中',
  'ex.tr.trimmed': '仅显示最近 {n} 段',
  'ex.tr.qshort': '第{n}题',

  'ex.sc.title': '评分建议',
  'ex.sc.suggestion': 'AI 建议',
  'ex.sc.empty': '还没有评分建议。',
  'ex.sc.overall': '综合（按岗位权重）',
  'ex.sc.evidence': '依据（{n}）',
  'ex.sc.of10': '/10',
  'ex.ev.transcript': '转写',
  'ex.ev.metric': '指标',
  'ex.ev.flag': '提示',

  'ex.fl.title': '异常提示时间线',
  'ex.fl.empty': '暂无异常提示。',
  'ex.fl.open': '持续中',
  'ex.fl.hint': '点击色块查看依据。时间为媒体时间（从候选人开始推流算起）。',
  'ex.fl.evidence': '依据',
  'ex.fl.noEvidence': '无更多依据。',
  'ex.fl.trimmed': '仅显示最近 {n} 条',
  'flag.face_missing': '未检测到人脸',
  'flag.extra_person': '画面中有其他人',
  'flag.looking_away': '视线偏离',
  'flag.out_of_frame': '离开画面',
  'flag.long_silence': '长时间沉默',
  'flag.tab_hidden': '切换页面',
  'flag.paste': '粘贴内容',

  'ex.face.title': '面部与视线',
  'ex.face.faces': '人脸数',
  'ex.face.eye': '目光接触',
  'ex.face.away': '视线偏离',
  'ex.face.strip': '最近 {n} 个采样：绿色=目光接触，黄色=视线偏离，红色=无人脸或多人',
  'ex.del.title': '表达',
  'ex.del.rate': '语速',
  'ex.del.wpm': '词/分',
  'ex.del.cpm': '字/分',
  'ex.del.pause': '停顿占比',
  'ex.del.long': '长停顿',
  'ex.del.fillers': '口头禅',
  'ex.del.fillerRatio': '（占 {p}）',
  'ex.del.coverage': '要点覆盖',
  'ex.none': '—',
};

const en = {
  'ex.title': 'Interview Live · Examiner live view',
  'ex.console': 'Examiner',
  'ex.nav.jobs': 'Jobs',
  'ex.nav.admin': 'Admin',
  'ex.login.subtitle': 'Examiner live view: follow interviews as they happen',

  'ex.jobs.title': 'Choose a job',
  'ex.jobs.empty': 'No jobs to show.',
  'ex.jobs.live': '{n} in progress',
  'ex.jobs.total': '{n} candidates',
  'ex.jobs.open': 'Interviews',

  'ex.list.title': 'Interviews',
  'ex.list.back': '← All jobs',
  'ex.list.empty': 'No interviews for this job yet.',
  'ex.list.caption': 'Candidate interviews, in-progress ones first',
  'ex.list.candidate': 'Candidate',
  'ex.list.status': 'Status',
  'ex.list.updated': 'Updated',
  'ex.list.watch': 'Watch live',
  'ex.list.view': 'Open',

  'ex.view.back': '← Interviews',
  'ex.view.notFound': 'Interview not found',
  'ex.view.question': 'Question {n} of {total}',
  'ex.view.noQuestion': 'Not answering yet',
  'ex.view.finished': 'Interview finished',
  'ex.view.paused': 'Paused (candidate disconnected)',
  'ex.view.phase.prep': 'Preparing',
  'ex.view.phase.answer': 'Answering',
  'ex.view.remaining': 'Time left',
  'ex.view.liveQ': 'Analysing question {n}',
  'ex.view.resynced': 'Resynchronised',

  'ex.ai.title': 'AI suggestions only',
  'ex.ai.body': 'Scores, reasons and flags below are generated automatically as guidance. The examiner makes every decision and gives the final score.',

  'ex.tr.title': 'Live transcript',
  'ex.tr.empty': 'The transcript appears here as soon as the candidate speaks.',
  'ex.tr.partial': 'recognising',
  'ex.tr.trimmed': 'Showing the last {n} segments',
  'ex.tr.qshort': 'Q{n}',

  'ex.sc.title': 'Score suggestions',
  'ex.sc.suggestion': 'AI suggestion',
  'ex.sc.empty': 'No score suggestions yet.',
  'ex.sc.overall': 'Overall (job weights)',
  'ex.sc.evidence': 'Evidence ({n})',
  'ex.sc.of10': '/10',
  'ex.ev.transcript': 'Transcript',
  'ex.ev.metric': 'Metric',
  'ex.ev.flag': 'Flag',

  'ex.fl.title': 'Flags timeline',
  'ex.fl.empty': 'No flags.',
  'ex.fl.open': 'ongoing',
  'ex.fl.hint': 'Click a mark for its evidence. Times are media time since the candidate started streaming.',
  'ex.fl.evidence': 'Evidence',
  'ex.fl.noEvidence': 'No further evidence.',
  'ex.fl.trimmed': 'Showing the last {n}',
  'flag.face_missing': 'Face missing',
  'flag.extra_person': 'Another person',
  'flag.looking_away': 'Looking away',
  'flag.out_of_frame': 'Out of frame',
  'flag.long_silence': 'Long silence',
  'flag.tab_hidden': 'Left the page',
  'flag.paste': 'Pasted text',

  'ex.face.title': 'Face and gaze',
  'ex.face.faces': 'Faces',
  'ex.face.eye': 'Eye contact',
  'ex.face.away': 'Looking away',
  'ex.face.strip': 'Last {n} samples: green = eye contact, amber = looking away, red = no face or several',
  'ex.del.title': 'Delivery',
  'ex.del.rate': 'Speaking rate',
  'ex.del.wpm': 'wpm',
  'ex.del.cpm': 'chars/min',
  'ex.del.pause': 'Pauses',
  'ex.del.long': 'Long pauses',
  'ex.del.fillers': 'Fillers',
  'ex.del.fillerRatio': ' ({p})',
  'ex.del.coverage': 'Key points covered',
  'ex.none': '—',
};

Object.assign(DICTS.zh, zh);
Object.assign(DICTS.en, en);

export { t, getLang, setLang, onLangChange, pick, applyStatic };

/** Reasons arrive as "English / 中文": the part for the page language. */
export function localReason(reason) {
  const s = String(reason || '');
  // Split where the Chinese half starts (the English half may itself hold " / ").
  let cut = -1;
  for (let i = s.indexOf(' / '); i >= 0; i = s.indexOf(' / ', i + 1)) {
    if (/^[\s"“]*[\u3000-\u9fff\uff00-\uffef]/.test(s.slice(i + 3))) { cut = i; break; }
  }
  if (cut < 0) cut = s.indexOf(' / ');
  if (cut < 0) return s;
  const en = s.slice(0, cut).trim();
  const zh = s.slice(cut + 3).trim();
  return getLang() === 'zh' ? (zh || en) : (en || zh);
}
