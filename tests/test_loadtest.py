"""The load-test instrument itself: one synthetic candidate against a spawned server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtest.run import MANDARIN_SENTENCES, SENTENCES, main, transcript_match

SUMMARY_KEYS = {
    "candidates",
    "realtime",
    "asr_final_latency_p95_s",
    "asr_lag_growth_s_per_min",
    "face_fps_min",
    "pose_fps_min",
    "dashboard_latency_p95_ms",
    "loop_lag_p95_ms",
    "cpu_percent",
    "server_cpu_percent_per_candidate",
    "rss_mb",
    "refused",
}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_one_synthetic_candidate_is_measured(tmp_path: Path, language: str) -> None:
    out = tmp_path / "result.json"
    assert (
        main(
            [
                "--language",
                language,
                "--candidates",
                "1",
                "--duration",
                "20",
                "--analysis-workers",
                "1",
                "--json",
                str(out),
                "--cache",
                str(tmp_path / "media"),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert SUMMARY_KEYS <= result.keys()
    assert result["candidates"] == 1
    assert result["refused"] == 0, result["details"][0]["refused"]
    assert result["face_fps_min"] >= 3.0  # analysed frames per second of media
    assert result["asr_final_latency_p95_s"] is not None  # sentences were heard and timed
    assert result["cpu_percent"] > 0 and result["rss_mb"] > 0
    live = result["candidates"] - result["refused"]
    assert result["server_cpu_percent_per_candidate"] == pytest.approx(
        result["cpu_percent"] / live, abs=0.1
    )
    (detail,) = result["details"]
    assert detail["faces_seen"] >= 0.9
    assert detail["finals"] >= 1
    # what the server heard is what the candidate said, in the job's language
    assert result["language"] == language
    assert result["transcript_match_min"] >= 0.7, detail


def test_transcript_match_tells_speech_from_garbage() -> None:
    assert transcript_match(["First I would listen to the residents"], SENTENCES) == 1.0
    assert transcript_match(["组织人员转移群众。"], MANDARIN_SENTENCES) == 1.0
    # the prompt echoed back, or English gibberish for Mandarin speech
    assert transcript_match(["以下是普通的讀体"], MANDARIN_SENTENCES) < 0.5
    assert transcript_match(["Thank you."], MANDARIN_SENTENCES) == 0.0
    assert transcript_match([], SENTENCES) is None
