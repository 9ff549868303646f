"""The vision benchmark (``python -m loadtest.vision_bench``): frames, comparison, report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from loadtest.vision_bench import CONFIGS, analysis_frames, compare_results, main


def test_frames_are_sampled_like_the_server(tmp_path: Path) -> None:
    frames = analysis_frames(25, tmp_path)
    times = [t for t, _ in frames]
    # 5 fps of the 15 fps video, by media time, on past the end of the 4 s loop
    assert times == pytest.approx([round(0.2 * i, 6) for i in range(25)])
    assert {rgb.shape for _, rgb in frames} == {(240, 320, 3)}
    assert {rgb.dtype for _, rgb in frames} == {np.dtype(np.uint8)}
    assert np.array_equal(frames[0][1], frames[20][1])  # the video loops after 4 s


def test_compare_results_counts_what_differs() -> None:
    face = {"faces": 1, "yaw_deg": 3.0, "pitch_deg": -5.0, "looking_away": False}
    face |= {"eye_contact": True, "center_x": 0.5, "size": 0.3}
    posture = {"in_frame": True, "shoulders_level_deg": 1.0, "lean": 0.1, "movement": None}
    a = {"face": [face, face], "posture": [posture]}
    b = {
        "face": [face, face | {"yaw_deg": 4.5, "eye_contact": False}],
        "posture": [posture | {"lean": 0.15}],
    }
    diff = compare_results(a, b)
    assert diff["faces_differ"] == 0 and diff["eye_contact_differs"] == 1
    assert diff["max_abs_diff"]["yaw_deg"] == 1.5
    assert diff["max_abs_diff"]["lean"] == pytest.approx(0.05)
    assert diff["max_abs_diff"]["movement"] is None


def test_report_before_and_now(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "vision.json"
    assert main(["--frames", "6", "--unpaced", "--compare", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    summary = {entry["config"]: entry for entry in report["summary"]}
    assert set(summary) == {"before", "current"}
    assert summary["before"]["threads_created"] > 0
    assert summary["current"]["threads_created"] == 0
    assert summary["before"]["face_mesh_share"] == 1.0
    assert summary["current"]["face_mesh_share"] < 1.0
    assert summary["before"]["pose_model_share"] == 1.0
    assert summary["current"]["pose_model_share"] < 1.0  # a still body is reused
    for entry in summary.values():
        assert entry["face"]["cpu_ms_per_frame"]["mean"] > 0
        assert entry["posture"]["cpu_ms_per_frame"]["mean"] > 0
    (comparison,) = report["comparisons"]
    assert comparison["faces_differ"] == comparison["pose_found_differs"] == 0
    assert comparison["in_frame_differs"] == 0
    # the same pose graph; a reused body differs by the model's own jitter between samples
    assert comparison["max_abs_diff"]["shoulders_level_deg"] < 3.0
    run = report["runs"][0]
    assert run["frames"] == {"face": 6, "posture": 3}
    assert "results" not in run
    assert "current" in capsys.readouterr().out
    assert set(CONFIGS) >= {"before", "current"}
