"""The load-test instrument itself: one synthetic candidate against a spawned server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from loadtest.candidate.packets import LAYERS_FROM_KBPS, video_layers
from loadtest.run import MANDARIN_SENTENCES, SENTENCES, main, transcript_match
from loadtest.sampling import CandidateRun
from loadtest.summary import degraded, lag_growth

SUMMARY_KEYS = {
    "candidates",
    "realtime",
    "asr_final_latency_p95_s",
    "asr_lag_growth_s_per_min",
    "asr_lag_growth_pooled_s_per_min",
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
    # by default the candidate sends two temporal layers (L1T2, as the page asks on an uplink
    # with room); analysis decoded the base one only
    assert result["video_layers"] == 2
    assert detail["media_loss"]["video_frames_not_decoded"] > 0, detail["media_loss"]
    assert set(detail["degraded"]) == {"max_level", "seconds"}  # analysis reduced under load
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


def test_degraded_reports_the_highest_level_and_the_time_spent_reduced() -> None:
    run = CandidateRun(0, "http://x")
    for now, level in ((5.0, 1), (12.0, 3), (20.0, 1), (30.0, 0), (50.0, 2)):
        run.record(now, {"type": "analysis_degraded", "level": level})
    assert degraded(run.levels, 0.0, 40.0) == {"max_level": 3, "seconds": 25.0}
    # the level in force when measuring starts counts; later changes do not
    assert degraded(run.levels, 15.0, 25.0) == {"max_level": 3, "seconds": 10.0}
    assert degraded(run.levels, 55.0, 60.0) == {"max_level": 2, "seconds": 5.0}
    assert degraded([], 0.0, 60.0) == {"max_level": 0, "seconds": 0.0}
    # a resync snapshot carries the level in force
    run.record(61.0, {"type": "snapshot", "degraded": {"type": "analysis_degraded", "level": 2}})
    run.record(62.0, {"type": "snapshot", "degraded": None})
    assert run.levels[-1] == (50.0, 2)


def test_video_layers_follow_the_page() -> None:
    """Two layers by default, one on an uplink the page would not ask two of, as asked."""
    assert video_layers(None) == 2
    assert video_layers(None, 150.0) == 1
    assert video_layers(None, LAYERS_FROM_KBPS) == 2
    assert video_layers(1) == 1 and video_layers(2, 150.0) == 2
    page = (Path(__file__).parents[1] / "web/candidate/netquality.js").read_text()
    (kbps,) = re.findall(r"export const LAYERS_FROM_KBPS = (\d+);", page)
    assert float(kbps) == LAYERS_FROM_KBPS  # the load generator plays the page


def test_lag_growth_is_a_slope_in_seconds_per_minute_and_pooling_averages_out_noise() -> None:
    assert lag_growth([(0.0, 0.5), (30.0, 0.5)]) is None  # two points are no trend
    backlog = [(t, 0.5 + t / 60.0) for t in (0.0, 10.0, 20.0, 30.0, 40.0)]
    assert lag_growth(backlog) == pytest.approx(1.0)  # a second later every minute
    # sixteen candidates whose finals only scatter (σ 0.25 s): the steepest of sixteen lines
    # through six finals each is beyond the 0.5 s/min limit; all of them together are flat
    rng = np.random.default_rng(20261208)
    ends_s = (5.0, 15.0, 25.0, 35.0, 45.0, 55.0)
    candidates = [[(t + i, 0.6 + rng.normal(0, 0.25)) for t in ends_s] for i in range(16)]
    steepest = max(abs(lag_growth(c) or 0.0) for c in candidates)
    pooled = lag_growth([p for c in candidates for p in c])
    assert pooled is not None and abs(pooled) < 0.1 and steepest > 0.5
