"""Per-candidate reports and per-job statistics, as pure functions of stored data.

AI scores are suggestions; a human reviewer may override any dimension. The *final* value
of a dimension is the mean of the human overrides when there are any, else the AI value.
Job match % = 10 × the job-weighted mean of the final dimension values (weights
renormalised over the dimensions that have a value).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from common.competencies import name_of
from server.domain.interviews import Interview
from server.domain.jobs import Job
from server.domain.models import interview_mode
from server.hiring.training import recommend

STRENGTH_MIN = 7.0
"""A final dimension value at or above this is listed as a strength."""
WEAKNESS_MAX = 5.0
"""At or below this, a weakness."""
HISTOGRAM_BANDS: tuple[tuple[int, int], ...] = ((0, 60), (60, 70), (70, 80), (80, 90), (90, 101))
"""Job-match % bands (the last includes 100)."""


def _split_reason(reason: str) -> tuple[str, str]:
    en, _, zh = reason.partition(" / ")
    return en.strip(), (zh or en).strip()


def dimension_rows(
    competencies: Sequence[Mapping[str, Any]],
    ai_scores: Sequence[Mapping[str, Any]],
    reviews: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """One row per job competency: AI suggestion, human overrides, final value."""
    ai = {s["dimension"]: s for s in ai_scores}
    human: dict[str, list[Mapping[str, Any]]] = {}
    for r in reviews:
        human.setdefault(r["dimension"], []).append(r)
    rows = []
    for comp in competencies:
        cid = comp["id"]
        suggestion = ai.get(cid)
        overrides = human.get(cid, [])
        ai_value = float(suggestion["value"]) if suggestion else None
        human_values = [float(r["value"]) for r in overrides]
        final = round(statistics.fmean(human_values), 1) if human_values else ai_value
        en, zh = _split_reason(str(suggestion["reason"])) if suggestion else ("", "")
        rows.append(
            {
                "dimension": cid,
                "name": comp.get("name") or name_of(cid).to_dict(),
                "weight": float(comp["weight"]),
                "ai_value": ai_value,
                "ai_reason": {"en": en, "zh": zh},
                "ai_evidence": list(suggestion.get("evidence", [])) if suggestion else [],
                "human": [
                    {
                        "reviewer": r.get("reviewer", ""),
                        "value": float(r["value"]),
                        "comment": r.get("comment", ""),
                        "at": r.get("created_at"),
                    }
                    for r in overrides
                ],
                "final_value": final,
                "source": "human" if human_values else ("ai" if suggestion else "none"),
            }
        )
    return rows


def weighted_mean(rows: Sequence[Mapping[str, Any]], key: str) -> float | None:
    """Job-weighted mean of ``key`` over rows that have it (weights renormalised)."""
    pairs = [(float(r[key]), float(r["weight"])) for r in rows if r.get(key) is not None]
    total = sum(w for _, w in pairs)
    if not pairs or total <= 0:
        return None
    return round(sum(v * w for v, w in pairs) / total, 2)


def flags_summary(flags: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter()
    seconds: dict[str, float] = {}
    for f in flags:
        counts[f["type"]] += 1
        if f.get("end_s") is not None:
            span = max(0.0, float(f["end_s"]) - float(f["start_s"]))
            seconds[f["type"]] = seconds.get(f["type"], 0.0) + span
    return [
        {"type": t, "count": counts[t], "total_s": round(seconds.get(t, 0.0), 1)}
        for t in sorted(counts)
    ]


def build_report(
    interview: Interview,
    job: Job,
    ai_scores: Sequence[Mapping[str, Any]],
    reviews: Sequence[Mapping[str, Any]],
    decisions: Sequence[Mapping[str, Any]],
    flags: Sequence[Mapping[str, Any]],
    answers: Sequence[Mapping[str, Any]],
    catalogue: Sequence[Mapping[str, Any]] = (),
    transcription: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``catalogue``: the org's training courses (for development recommendations);
    ``transcription``: whether the interview's speech could be transcribed (see
    ``server.live.analysis.transcription_status``)."""
    rows = dimension_rows(job.competencies, ai_scores, reviews)
    overall_ai = weighted_mean(rows, "ai_value")
    overall_final = weighted_mean(rows, "final_value")
    strengths = [
        r for r in rows if r["final_value"] is not None and r["final_value"] >= STRENGTH_MIN
    ]
    weaknesses = [
        r for r in rows if r["final_value"] is not None and r["final_value"] <= WEAKNESS_MAX
    ]
    latest: dict[str, Mapping[str, Any]] = {}
    for d in decisions:
        latest[d["reviewer"]] = d
    return {
        "interview_id": interview.id,
        "candidate": {k: interview.candidate.get(k, "") for k in ("name", "email", "phone")},
        "job": {"id": job.id, "title": job.title, "department": job.department},
        "status": interview.status.value,
        "mode": mode.value if (mode := interview_mode(interview)) is not None else None,
        "transcription": dict(transcription) if transcription is not None else None,
        "scores_not_applicable": transcription is not None and not transcription["available"],
        "dimensions": rows,
        "overall_ai": overall_ai,
        "overall_final": overall_final,
        "job_match_percent": None if overall_final is None else round(overall_final * 10, 1),
        "strengths": [_plain(r, strength=True) for r in strengths],
        "weaknesses": [_plain(r, strength=False) for r in weaknesses],
        "development": recommend(rows, catalogue),
        "flags": flags_summary(flags),
        "decisions": [dict(d) for d in latest.values()],
        "answers": [
            {
                "index": a["index"],
                "question": a["question"],
                "transcript": a.get("transcript", ""),
                "language": a.get("language"),
                "text_answer": a.get("text_answer", ""),
                "answer_used_s": a.get("answer_used_s"),
                "personalised": bool(a.get("personalised")),
                "basis": a.get("basis"),
                "in_ranking": a.get("in_ranking", True),
            }
            for a in answers
        ],
        "note": {
            "en": "Scores marked AI are suggestions; the decision is made by people.",
            "zh": "标注为 AI 的分数仅供参考，录用决定由人工作出。",
        },
    }


def _plain(row: Mapping[str, Any], *, strength: bool) -> dict[str, Any]:
    name = row["name"]
    value = row["final_value"]
    if strength:
        en = f"{name.get('en', row['dimension'])}: {value}/10 — a clear strength"
        zh = f"{name.get('zh', row['dimension'])}：{value}/10，表现突出"
    else:
        en = f"{name.get('en', row['dimension'])}: {value}/10 — needs development"
        zh = f"{name.get('zh', row['dimension'])}：{value}/10，有待提高"
    reason = row["ai_reason"] if row["source"] == "ai" else {"en": "", "zh": ""}
    return {"dimension": row["dimension"], "value": value, "en": en, "zh": zh, "why": reason}


def job_stats(
    counts: Mapping[str, int],
    reports: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """Statistics over completed interviews that have a job-match %."""
    matches = [
        float(r["job_match_percent"]) for r in reports if r.get("job_match_percent") is not None
    ]
    histogram = [
        {
            "band": f"{lo}-{min(hi, 100)}",
            "count": sum(1 for m in matches if lo <= m < hi),
        }
        for lo, hi in HISTOGRAM_BANDS
    ]
    dims: dict[str, list[float]] = {}
    for r in reports:
        for row in r["dimensions"]:
            if row["final_value"] is not None:
                dims.setdefault(row["dimension"], []).append(float(row["final_value"]))
    return {
        "counts": dict(counts),
        "scored": len(matches),
        "mean": round(statistics.fmean(matches), 2) if matches else None,
        "max": max(matches) if matches else None,
        "min": min(matches) if matches else None,
        "median": round(statistics.median(matches), 2) if matches else None,
        "histogram": histogram,
        "dimensions": {d: round(statistics.fmean(v), 2) for d, v in sorted(dims.items())},
        "unit": "job match %",
    }


FOUR_FIFTHS = 0.8
"""Adverse-impact threshold: a group's selection rate below 80 % of the highest group's."""


def fairness(candidates: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Selection rate and impact ratio per group (the four-fifths rule).

    ``candidates``: ``{"group": str | None, "decided": bool, "advanced": bool}``; only
    candidates with a group and a human decision count. Selected = a reviewer advanced them.
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for c in candidates:
        if c.get("group") and c.get("decided"):
            groups.setdefault(str(c["group"]), []).append(c)
    rates = {
        g: sum(1 for c in members if c["advanced"]) / len(members) for g, members in groups.items()
    }
    best = max(rates.values(), default=0.0)
    rows = []
    for g in sorted(groups):
        ratio = rates[g] / best if best > 0 else None
        rows.append(
            {
                "group": g,
                "decided": len(groups[g]),
                "selected": sum(1 for c in groups[g] if c["advanced"]),
                "selection_rate": round(rates[g], 3),
                "impact_ratio": None if ratio is None else round(ratio, 3),
                "below_four_fifths": ratio is not None and ratio < FOUR_FIFTHS,
            }
        )
    warnings = [
        {
            "en": f"Group {r['group']}: selection rate is {r['impact_ratio']:.0%} of the highest "
            "group's (below 80 %). Review the decisions for possible adverse impact.",
            "zh": f"群体“{r['group']}”的录用率仅为最高群体的 {r['impact_ratio']:.0%}（低于 80%），"
            "请复核相关决定是否存在不利影响。",
        }
        for r in rows
        if r["below_four_fifths"]
    ]
    return {"groups": rows, "threshold": FOUR_FIFTHS, "warnings": warnings}
