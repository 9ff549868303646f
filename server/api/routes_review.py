"""Human review and evaluation: score overrides, decisions, reports, job statistics."""

from __future__ import annotations

import asyncio
import csv
import html
import io
from typing import Any

from aiohttp import web

from server.api.contract import operation, read_body, read_query
from server.api.guards import audit_action, interview_of, job_of, staff_user
from server.api.http import ApiError, json_response, services
from server.api.routes_training import training_catalogue
from server.api.schemas.common import AnyObject
from server.api.schemas.interviews import DecisionIn, ReviewIn
from server.api.schemas.queries import ExportQuery, ReportQuery
from server.core.csvsafe import safe_cell, xlsx_cell
from server.core.services import Services
from server.domain.errors import field_error
from server.domain.interviews import Interview
from server.domain.jobs import Job
from server.domain.models import Role, Status, personalised_fields
from server.live.analysis import analysis_summary, answer_transcript, transcription_status
from server.outbound import webhooks
from server.outbound.reports import build_report, fairness, job_stats

routes = web.RouteTableDef()

CAN_REVIEW = frozenset({Role.ADMIN, Role.HR, Role.EXAMINER})
CAN_SEE_SCORES = frozenset({Role.ADMIN, Role.HR, Role.EXAMINER})
CAN_SEE_STATS = frozenset({Role.ADMIN, Role.HR})


@routes.post("/api/interviews/{interview_id}/reviews")
@operation(
    "Override one dimension score (human review, comment required)",
    body=ReviewIn,
    response=AnyObject,
    status=201,
    invalid=("invalid_review", "the review is invalid"),
    refusals=((409, "The dimension is not in the job's competency model"),),
)
async def add_review(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_REVIEW)
    interview, job = await interview_of(request, user)
    body = await read_body(request, ReviewIn)
    dimension, value = body.dimension, body.value
    dims = {c["id"] for c in job.competencies}
    if dimension not in dims:
        raise ApiError(
            409,
            "invalid_review",
            f"dimension must be one of {sorted(dims)}",
            [field_error("dimension", "not in the job's model")],
        )
    svc = services(request)
    await svc.store.save_review(interview.id, user, dimension, value, body.comment.strip())
    await audit_action(
        request,
        user,
        "review",
        {"dimension": dimension, "value": value},
        interview_id=interview.id,
    )
    return json_response(await _report(svc, interview, job), status=201)


@routes.post("/api/interviews/{interview_id}/decision")
@operation(
    "Human recommendation (advance / hold / reject)",
    body=DecisionIn,
    response=AnyObject,
    status=201,
    invalid=("invalid_decision", "the decision is invalid"),
    refusals=((409, "The interview is not completed yet (not_completed)"),),
)
async def add_decision(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_REVIEW)
    interview, job = await interview_of(request, user)
    body = await read_body(request, DecisionIn)
    recommendation = body.recommendation
    if interview.status != Status.COMPLETED:
        raise ApiError(409, "not_completed", "decide after the interview is completed")
    svc = services(request)
    await svc.store.save_decision(interview.id, user, recommendation, body.comment.strip())
    await audit_action(
        request,
        user,
        "decision",
        {"recommendation": recommendation},
        interview_id=interview.id,
    )
    await webhooks.emit(
        svc,
        interview.org_id,
        "decision.made",
        {
            "interview_id": interview.id,
            "job_id": job.id,
            "reviewer": user.username,
            "recommendation": recommendation,
        },
    )
    report = await _report(svc, interview, job)
    if report["development"]:
        await webhooks.emit(
            svc,
            interview.org_id,
            "training.recommended",
            {
                "interview_id": interview.id,
                "job_id": job.id,
                "recommendation": recommendation,
                "development": report["development"],
            },
        )
    return json_response(report, status=201)


async def _report(svc: Services, interview: Interview, job: Job) -> dict[str, Any]:
    summary = await analysis_summary(svc, interview.id)
    answers = []
    for a in await svc.store.answers(interview.id):
        item = interview.plan[a.idx]
        finals = summary["transcripts"].get(a.idx, [])
        answers.append(
            {
                "index": a.idx,
                "question": item["question"]["text"],
                **answer_transcript(finals, interview.language),
                "text_answer": a.text_answer,
                "answer_used_s": a.answer_used_s,
                **personalised_fields(item),
            }
        )
    return build_report(
        interview,
        job,
        summary["scores"],
        await svc.store.reviews(interview.id),
        await svc.store.decisions(interview.id),
        summary["flags"],
        answers,
        await training_catalogue(svc, interview.org_id),
        transcription_status(svc, interview, summary),
    )


@routes.get("/api/interviews/{interview_id}/report")
@operation(
    "Candidate report: AI suggestions, human overrides, final scores, job match %",
    query=ReportQuery,
    response=AnyObject,
    also=("text/html",),
)
async def report(request: web.Request) -> web.StreamResponse:
    user = await staff_user(request, CAN_SEE_SCORES)
    interview, job = await interview_of(request, user)
    svc = services(request)
    query = read_query(request, ReportQuery)
    data = await _report(svc, interview, job)
    fmt = query.format
    await audit_action(
        request,
        user,
        "report_viewed",
        {"format": fmt, "ip": request.remote or ""},
        interview_id=interview.id,
    )
    if fmt == "html":
        return web.Response(
            text=report_html(data, query.lang),
            content_type="text/html",
            headers={"Cache-Control": "private, no-store"},
        )
    return json_response(data)


@routes.get("/api/jobs/{job_id}/stats")
@operation(
    "Job statistics: counts by status, mean/max/min/median job match %, histogram, dimensions",
    response=AnyObject,
)
async def stats(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_SEE_STATS)
    job = await job_of(request, user)
    svc = services(request)
    reports = []
    for interview in await svc.store.list_interviews(job.id):
        if interview.status == Status.COMPLETED:
            reports.append(await _report(svc, interview, job))
    return json_response(job_stats(await svc.store.status_counts(job.id), reports))


@routes.get("/api/jobs/{job_id}/fairness")
@operation(
    "Selection rate and impact ratio per recorded group (four-fifths rule)", response=AnyObject
)
async def fairness_view(request: web.Request) -> web.Response:
    """Selection rate and impact ratio per recorded group, with four-fifths warnings."""
    user = await staff_user(request, CAN_SEE_STATS)
    job = await job_of(request, user)
    svc = services(request)
    rows = []
    for interview in await svc.store.list_interviews(job.id):
        latest = {
            d["reviewer"]: d["recommendation"] for d in await svc.store.decisions(interview.id)
        }
        recs = list(latest.values())
        rows.append(
            {
                "group": interview.candidate.get("group"),
                "decided": bool(recs),
                # the candidate is selected when most reviewers advanced them
                "advanced": bool(recs) and recs.count("advance") * 2 > len(recs),
            }
        )
    return json_response(fairness(rows))


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@routes.get("/api/jobs/{job_id}/export")
@operation(
    "Candidates, AI and final scores, decisions (CSV or XLSX)",
    query=ExportQuery,
    response=bytes,
    media_type="text/csv",
    also=(XLSX_MEDIA_TYPE,),
)
async def export(request: web.Request) -> web.Response:
    """Candidates, scores (AI and final) and decisions of a job as CSV or XLSX."""
    user = await staff_user(request, CAN_SEE_STATS)
    job = await job_of(request, user)
    fmt = read_query(request, ExportQuery).format
    svc = services(request)
    dims = [c["id"] for c in job.competencies]
    header = ["interview_id", "name", "email", "status", "job_match_percent"]
    header += [f"{d}_ai" for d in dims] + [f"{d}_final" for d in dims]
    header += ["decisions", "flags"]
    rows: list[list[Any]] = []
    for interview in await svc.store.list_interviews(job.id):
        rep = await _report(svc, interview, job)
        by_dim = {r["dimension"]: r for r in rep["dimensions"]}
        rows.append(
            [
                interview.id,
                rep["candidate"]["name"],
                rep["candidate"]["email"],
                interview.status.value,
                rep["job_match_percent"],
            ]
            + [by_dim[d]["ai_value"] for d in dims]
            + [by_dim[d]["final_value"] for d in dims]
            + [
                "; ".join(f"{d['reviewer']}: {d['recommendation']}" for d in rep["decisions"]),
                "; ".join(f"{f['type']}×{f['count']}" for f in rep["flags"]),
            ]
        )
    await audit_action(
        request,
        user,
        "export",
        {"job_id": job.id, "format": fmt, "rows": len(rows)},
    )
    body = await asyncio.to_thread(_csv if fmt == "csv" else _xlsx, header, rows)
    safe = "".join(c for c in job.id if c.isalnum() or c == "_")
    return web.Response(
        body=body,
        content_type="text/csv" if fmt == "csv" else XLSX_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}-candidates.{fmt}"',
            "Cache-Control": "private, no-store",
        },
    )


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[safe_cell(v) for v in row] for row in rows])
    return ("\ufeff" + out.getvalue()).encode()  # BOM: Excel opens UTF-8 (Chinese names) right


def _xlsx(header: list[str], rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("candidates")
    sheet.append(header)
    for row in rows:
        sheet.append([xlsx_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


MODE_LABELS = {
    "video": {"zh": "视频面试", "en": "Video interview"},
    "audio": {"zh": "仅语音：不做人脸分析", "en": "Audio only — no face analysis"},
    "text": {"zh": "书面作答：无录制", "en": "Written answers — no recording"},
}


def report_html(data: dict[str, Any], lang: str) -> str:
    """A printable report page (print to PDF from the browser)."""
    zh = lang.startswith("zh")
    e = html.escape

    def name(d: dict[str, Any]) -> str:
        return str(d.get("zh" if zh else "en") or d.get("en") or d.get("zh") or "")

    def num(v: Any) -> str:
        return "—" if v is None else f"{v}"

    rows = "".join(
        f"<tr><td>{e(name(r['name']))}</td><td>{r['weight']:.2f}</td><td>{e(num(r['ai_value']))}</td>"
        f"<td>{e(', '.join(str(h['value']) for h in r['human']) or '—')}</td>"
        f"<td><b>{e(num(r['final_value']))}</b></td>"
        f"<td>{e(r['ai_reason']['zh' if zh else 'en'])}</td></tr>"
        for r in data["dimensions"]
    )
    strengths = (
        "".join(f"<li>{e(s['zh' if zh else 'en'])}</li>" for s in data["strengths"]) or "<li>—</li>"
    )
    weaknesses = (
        "".join(f"<li>{e(s['zh' if zh else 'en'])}</li>" for s in data["weaknesses"])
        or "<li>—</li>"
    )
    flags = (
        "".join(f"<li>{e(f['type'])}: {f['count']} ({f['total_s']} s)</li>" for f in data["flags"])
        or "<li>—</li>"
    )
    decisions = (
        "".join(
            f"<li>{e(d['reviewer'])}: <b>{e(d['recommendation'])}</b> {e(d.get('comment', ''))}</li>"
            for d in data["decisions"]
        )
        or "<li>—</li>"
    )
    t: dict[str, Any] = {
        "title": "面试评估报告" if zh else "Interview report",
        "dims": "维度评分" if zh else "Dimension scores",
        "head": ("维度", "权重", "AI 建议", "人工评分", "最终", "依据")
        if zh
        else ("Dimension", "Weight", "AI suggestion", "Human", "Final", "Why"),
        "match": "岗位匹配度" if zh else "Job match",
        "str": "优势" if zh else "Strengths",
        "weak": "待提高" if zh else "To develop",
        "flags": "诚信提示" if zh else "Integrity flags",
        "dec": "人工结论" if zh else "Human decisions",
    }
    head = "".join(f"<th>{e(h)}</th>" for h in t["head"])
    match = num(data["job_match_percent"])
    mode = data.get("mode") or "video"
    mode_label = MODE_LABELS.get(mode, MODE_LABELS["video"])["zh" if zh else "en"]
    development = "".join(
        f"<li>{e(name(d['name']))} ({e(str(d['final_value']))}): "
        + ", ".join(
            f"<a href='{e(c['link'])}'>{e(c['course'])}</a>" if c["link"] else e(c["course"])
            for c in d["courses"]
        )
        + "</li>"
        for d in data.get("development", [])
        if d["courses"]
    )
    dev_title = "发展建议" if zh else "Development suggestions"
    dev_html = f"<h2>{e(dev_title)}</h2><ul>{development}</ul>" if development else ""
    cand = data["candidate"]
    transcription = data.get("transcription") or {}
    unavailable = (
        f"<p class='warning'>{e(transcription['message']['zh' if zh else 'en'])}</p>"
        if transcription.get("message")
        else ""
    )
    answers = "".join(
        f"<li><p class='question'>{e(name(a['question']))}</p>"
        + (
            f"<p class='transcript' lang='{e(a.get('language') or '')}'>{e(a['transcript'])}</p>"
            if a.get("transcript")
            else ""
        )
        + (f"<p class='text-answer'>{e(a['text_answer'])}</p>" if a.get("text_answer") else "")
        + "</li>"
        for a in data.get("answers", [])
    )
    answers_title = "作答记录（自动转写）" if zh else "Answers (automatic transcript)"
    answers_html = (
        f"<h2>{e(answers_title)}</h2><ol class='answers'>{answers}</ol>" if answers else ""
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{e(t['title'])} — {e(cand['name'])}</title>"
        "<link rel='stylesheet' href='/static/report/report.css'></head><body>"
        f"<h1>{e(t['title'])}</h1><p>{e(cand['name'])} · {e(cand['email'])} · "
        f"{e(data['job']['title'])} ({e(data['job']['department'])})</p>"
        f"<p><span class='mode mode-{e(mode)}'>{e(mode_label)}</span></p>"
        f"<p class='match'>{e(t['match'])}: <b>{e(match)}%</b></p>"
        f"<p class='note'>{e(data['note']['zh' if zh else 'en'])}</p>"
        f"{unavailable}"
        f"<h2>{e(t['dims'])}</h2><table><tr>{head}</tr>{rows}</table>"
        f"<h2>{e(t['str'])}</h2><ul>{strengths}</ul><h2>{e(t['weak'])}</h2><ul>{weaknesses}</ul>"
        f"{dev_html}"
        f"<h2>{e(t['flags'])}</h2><ul>{flags}</ul><h2>{e(t['dec'])}</h2><ul>{decisions}</ul>"
        f"{answers_html}"
        "</body></html>"
    )
