"""Demo résumés (fictional people, example.com addresses) and the demo job's screening."""

from __future__ import annotations

import json
from importlib import resources

DEMO_SCREENING = {
    "requirements": {
        "min_degree": "bachelor",
        "min_years": 2,
        "required_skills": ["公文写作"],
        "required_certificates": [],
        "nice_to_have": [
            {"kind": "skill", "value": "数据分析", "weight": 3},
            {"kind": "keyword", "value": "应急", "weight": 2},
            {"kind": "certificate", "value": "CET-6", "weight": 1},
        ],
        "auto_invite_threshold": 80,
    },
    "followups": {"count": 2, "in_ranking": False},
}

DEMO_DATA = ("data", "demo")


def demo_resumes() -> list[tuple[str, str]]:
    """``(upload file name, text)`` of each demo résumé (server/data/demo/), in upload order."""
    folder = resources.files("server").joinpath(*DEMO_DATA)
    index = json.loads(folder.joinpath("resumes.json").read_text(encoding="utf-8"))
    return [
        (entry["upload_name"], folder.joinpath(entry["file"]).read_text(encoding="utf-8"))
        for entry in index["resumes"]
    ]
