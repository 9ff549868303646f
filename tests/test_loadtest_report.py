"""The load-test report (plots, markdown verdicts) and the harness's admission and progress logic."""

from __future__ import annotations

import asyncio
import io
import struct
from pathlib import Path
from typing import Any

import pytest

from loadtest import run as lt
from loadtest.candidate import client
from loadtest.report import (
    FIGURE_DPI,
    FIGURE_SIZE_IN,
    realtime,
    report_paths,
    write_report,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def a_run(n: int, *, pose_fps_min: float = 1.5, refused: int = 1) -> dict[str, Any]:
    """A run result as the harness writes it: 2 s sampling over 20 s, one server process."""
    t = [float(s) for s in range(0, 21, 2)]
    summary: dict[str, Any] = {
        "candidates": n,
        "targets": ["http://127.0.0.1:8001", "http://127.0.0.1:8002"],
        "refused": refused,
        "redirected": 2,
        "face_fps_min": 4.6,  # ≥ 4.5 ✓
        "pose_fps_min": pose_fps_min,  # 1.5 < 1.8 ✗
        "received_fps_min": 14.8,
        "asr_final_latency_p50_s": 0.7,
        "asr_final_latency_p95_s": 1.2,  # > 1.0 ✗ (yet ≤ 2.5: real time allows it)
        "asr_final_latency_max_s": 1.4,
        "asr_lag_growth_s_per_min": 0.2,  # ✓
        "sentences_heard_share": 0.95,  # ✓
        "dashboard_latency_p50_ms": 4.0,
        "dashboard_latency_p95_ms": 80.0,  # ✓
        "loop_lag_p95_ms": 12.5,
        "cpu_percent": 150.0,
        "rss_mb": 2000.0,
        "dropped_frames": 3,
        "nodes": [
            {
                "url": "http://127.0.0.1:8001",
                "node": "a",
                "live_sessions": 1,
                "admission": {"live": 1, "capacity": 1, "refused": 4},
            }
        ],
        "dropped_audio_s": 0.0,
        "processes": [
            {
                "pid": 4242,
                "cpu_percent": 150.0,
                "rss_mb": 2000.0,
                "rss_max_mb": 2010.0,
                "samples": [[x, 140.0 + x, 1990.0 + x / 2] for x in t[1:]],
            }
        ],
        "series": {
            "t_s": t,
            "measure_from_s": 8.0,
            "measure_to_s": 20.0,
            "connected": [n] * len(t),
            "refused": [refused] * len(t),
            "candidates": [
                {
                    "index": i,
                    "face_fps": [None, None, *([5.0 - 0.1 * i] * (len(t) - 2))],
                    "pose_fps": [None, None, *([2.0] * (len(t) - 2))],
                    "received_fps": [None, *([15.0] * (len(t) - 1))],
                }
                for i in range(n)
            ],
            "asr_finals": [[5.0, 0, 0.6], [9.0, 1, 0.8], [13.0, 0, 1.2]],
            "dashboard": [[5.0, 40, 2.0, 30.0, 50.0], [10.0, 44, 3.0, 80.0, 120.0]],
            "loop_lag": [[1.0, 0, 3.0], [2.0, 1, 12.5]],
        },
    }
    summary["realtime"] = realtime(summary)
    summary["details"] = [
        {
            "index": i,
            "target": summary["targets"][i % 2],
            "admitted": i != 0,
            "refused": "busy after 3 attempts: full | try later" if i == 0 else None,
            "redirected": 1 if i == 1 else 0,
            "face_fps": 4.6,
            "pose_fps": 1.9,
            "received_fps": 15.0,
            "finals": 5,
            "sentences": 4,
            "final_latencies_s": [0.6, 0.8, 1.2],
            "lag_growth_s_per_min": 0.1,
            "dropped_audio_s": 0.0,
        }
        for i in range(n)
    ]
    return summary


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def row(markdown: str, key: str) -> list[str]:
    (line,) = [ln for ln in markdown.splitlines() if f"| `{key}` |" in ln]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_realtime_verdict_follows_the_numbers() -> None:
    assert realtime(a_run(2)) is False  # pose too slow and one refusal
    assert realtime(a_run(2, pose_fps_min=1.9)) is False  # still one refusal
    assert realtime(a_run(2, pose_fps_min=1.9, refused=0)) is True  # ASR 1.2 s ≤ 2.5 s is real time
    late = a_run(2, pose_fps_min=1.9, refused=0) | {"asr_final_latency_p95_s": 2.6}
    assert realtime(late) is False
    unheard = a_run(2, pose_fps_min=1.9, refused=0) | {"asr_final_latency_p95_s": None}
    assert realtime(unheard) is False


def test_report_writes_markdown_with_verdicts_and_valid_plots(tmp_path: Path) -> None:
    result = a_run(2) | {"command": "interview-live-loadtest --candidates 2", "machine": {}}
    paths = write_report(result, tmp_path / "out.json")

    assert paths["md"] == tmp_path / "out.md"
    assert paths["run-2"] == tmp_path / "out-run-2.png"
    expected = (round(FIGURE_SIZE_IN[0] * FIGURE_DPI), round(FIGURE_SIZE_IN[1] * FIGURE_DPI))
    assert png_size(paths["run-2"]) == expected

    md = paths["md"].read_text(encoding="utf-8")
    assert row(md, "face_fps_min")[2:] == ["4.6", "≥ 4.5 fps", "✓"]
    assert row(md, "pose_fps_min")[2:] == ["1.5", "≥ 1.8 fps", "✗"]
    assert row(md, "asr_final_latency_p95_s")[2:] == ["1.2", "≤ 1 s", "✗"]
    assert row(md, "asr_lag_growth_s_per_min")[-1] == "✓"
    assert row(md, "dashboard_latency_p95_ms")[2:] == ["80", "≤ 100.0 ms", "✓"]
    assert row(md, "refused")[2:] == ["1", "≤ 0", "✗"]
    assert row(md, "realtime")[2:] == ["no", "—", "✗"]
    assert "(definition below)" in md and "p95 ≤ 2.5 s" in md
    assert row(md, "cpu_percent")[-1] == ""  # no target, no verdict
    assert "Refused: 1, redirected: 2" in md
    assert "busy after 3 attempts: full \\| try later" in md  # a pipe cannot break the table
    assert "(out-run-2.png)" in md
    assert "| 4242 | 150.0 | 2000.0 | 2010.0 |" in md
    assert "| http://127.0.0.1:8001 | a | 1 | live 1, capacity 1, refused 4 |" in md
    assert "cores" in md and "interview-live-loadtest --candidates 2" in md


def test_capacity_report_has_a_figure_per_run_and_one_against_count(tmp_path: Path) -> None:
    runs = [a_run(n, pose_fps_min=1.9, refused=0) for n in (2, 4)] + [a_run(6)]
    result = {**runs[-1], "max_realtime_candidates": 4, "runs": runs}
    paths = write_report(result, tmp_path / "cap.json")

    assert set(paths) == {"md", "run-2", "run-4", "run-6", "capacity"}
    for name in ("run-2", "run-4", "run-6", "capacity"):
        width, height = png_size(paths[name])
        assert width > 0 and height > 0
    md = paths["md"].read_text(encoding="utf-8")
    assert "Largest real-time candidate count: 4" in md
    section = md.split("## Capacity search", 1)[1].split("##", 1)[0]
    capacity_rows = [ln for ln in section.splitlines() if ln.startswith("| ") and "`" not in ln]
    assert [r.split("|")[1:3] for r in capacity_rows] == [
        [" 2 ", " ✓ "],
        [" 4 ", " ✓ "],
        [" 6 ", " ✗ "],
    ]


def test_paths_sit_next_to_the_json(tmp_path: Path) -> None:
    paths = report_paths(tmp_path / "a.b.json", a_run(3))
    assert paths == {"md": tmp_path / "a.b.md", "run-3": tmp_path / "a.b-run-3.png"}


# -- admission control ----------------------------------------------------------------------


def test_only_a_503_busy_answer_is_an_admission_refusal() -> None:
    body = {"error": "busy", "message": "full", "retry_after_s": 3, "alternate": "http://b:1/"}
    assert lt.parse_busy(503, body) == lt.Busy("full", 3.0, "http://b:1")
    assert lt.parse_busy(409, body) is None
    assert lt.parse_busy(503, {"error": "internal"}) is None
    odd = lt.parse_busy(503, {"error": "busy", "retry_after_s": True, "alternate": "ftp://x"})
    assert odd == lt.Busy("", lt.MIN_RETRY_WAIT_S, None)


def test_plan_follows_the_alternate_then_waits_and_gives_up_at_the_deadline() -> None:
    busy = lt.Busy("full", 3.0, "http://b:1")
    assert lt.plan_admission(busy, "http://a:1", 1, 0, 0.0, 100.0) == lt.NextStep(
        "redirect", "http://b:1"
    )
    # already there, or redirected too often in a row: wait where it is
    assert lt.plan_admission(busy, "http://b:1/", 2, 0, 0.0, 100.0).action == "retry"
    stay = lt.plan_admission(busy, "http://a:1", 2, lt.MAX_REDIRECTS_IN_ROW, 0.0, 100.0)
    assert stay == lt.NextStep("retry", "http://a:1", 3.0)
    long_wait = lt.Busy("full", 1e9, None)
    assert lt.plan_admission(long_wait, "http://a:1", 1, 0, 0.0, 100.0).wait_s == (
        lt.MAX_RETRY_WAIT_S
    )
    no_room = lt.Busy("", 3.0, None)
    assert lt.plan_admission(no_room, "http://a:1", 1, 0, 98.0, 100.0).action == "give_up"
    assert lt.plan_admission(busy, "http://a:1", 1, 0, 100.0, 100.0).action == "give_up"
    assert lt.plan_admission(busy, "http://a:1", lt.MAX_ADMISSION_ATTEMPTS, 0, 0.0, 100.0) == (
        lt.NextStep("give_up")
    )


class ScriptedLink:
    """Stands in for the network side of a candidate: offers answer from a script."""

    def __init__(self, run: lt.CandidateRun, answers: list[Any]) -> None:
        self.run, self.answers = run, answers
        self.open = False
        self.joined_at: list[str] = []
        self.offered_at: list[str] = []
        self.peers_closed = 0

    @property
    def socket_open(self) -> bool:
        return self.open

    async def join(self) -> None:
        self.open = True
        self.joined_at.append(self.run.base_url)

    async def offer(self) -> dict[str, Any]:
        self.offered_at.append(self.run.base_url)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    async def close_peer(self) -> None:
        self.peers_closed += 1

    async def close_socket(self) -> None:
        self.open = False


def busy(alternate: str | None, retry_after_s: float = 0.01) -> lt.HttpError:
    body = {"error": "busy", "message": "full", "retry_after_s": retry_after_s}
    return lt.HttpError("POST", "/api/candidate/offer", 503, body | {"alternate": alternate})


async def test_busy_candidate_rejoins_on_the_alternate_then_retries_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client, "MIN_RETRY_WAIT_S", 0.01)  # where admit() reads it
    run = lt.CandidateRun(0, "http://127.0.0.1:8001")
    link = ScriptedLink(run, [busy("http://127.0.0.1:8002"), busy(None), {"sdp": "v=0"}])
    answer = await lt.admit(link, run, asyncio.Event(), deadline=1e12)  # type: ignore[arg-type]

    assert answer == {"sdp": "v=0"}
    assert run.redirected == 1 and run.refused is None
    assert link.joined_at == [
        "http://127.0.0.1:8001",
        "http://127.0.0.1:8002",
    ]  # socket kept on retry
    assert link.offered_at == ["http://127.0.0.1:8001", *["http://127.0.0.1:8002"] * 2]
    assert link.peers_closed == 2  # a fresh peer connection for every new offer


async def test_busy_candidate_without_room_is_refused_at_the_deadline() -> None:
    run = lt.CandidateRun(0, "http://127.0.0.1:8001")
    link = ScriptedLink(run, [busy(None, retry_after_s=5.0)])
    answer = await lt.admit(link, run, asyncio.Event(), deadline=0.0)  # type: ignore[arg-type]
    assert answer is None and run.refused is not None and run.refused.startswith("busy")


async def test_other_offer_errors_are_not_retried() -> None:
    run = lt.CandidateRun(0, "http://127.0.0.1:8001")
    error = lt.HttpError("POST", "/api/candidate/offer", 409, {"error": "not_ready"})
    link = ScriptedLink(run, [error])
    with pytest.raises(lt.HttpError):
        await lt.admit(link, run, asyncio.Event(), deadline=1e12)  # type: ignore[arg-type]
    assert link.offered_at == ["http://127.0.0.1:8001"]


# -- measurements and progress ----------------------------------------------------------------


def test_sentence_latency_is_resolved_once_by_the_first_final_after_it() -> None:
    run = lt.CandidateRun(0, "http://x")

    class Audio:
        mark_times = [10.0, 20.0]

    run.audio = Audio()  # type: ignore[assignment]
    run.record(10.5, {"type": "transcript_final"})
    assert run.resolve_latencies() == [(10.0, 0.5)]
    assert run.resolve_latencies() == []  # the second sentence has no final yet
    run.record(21.0, {"type": "transcript_final"})
    run.record(22.0, {"type": "transcript_final"})
    assert run.resolve_latencies() == [(20.0, 1.0)]
    assert run.latencies == [(10.0, 0.5), (20.0, 1.0)]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_on_a_terminal_and_prints_every_10_s_otherwise() -> None:
    text = lt.progress_text(30, 60, 4, 3, 1, 4.8, 0.91)
    assert "30/60 s" in text and "connected 3/4 refused 1" in text
    assert "face min 4.8 fps" in text and "ASR final p95 0.91 s" in text

    tty = Terminal()
    progress = lt.Progress(tty, quiet=False)
    progress.show("a", 0.0)
    progress.show("b", 1.0)
    progress.close()
    assert tty.getvalue() == "\ra\rb\n"

    log = io.StringIO()
    progress = lt.Progress(log, quiet=False)
    for now in (0.0, 5.0, 10.0, 15.0):
        progress.show(f"t{now:.0f}", now)
    progress.close()
    assert log.getvalue() == "t0\nt10\n"

    quiet = Terminal()
    progress = lt.Progress(quiet, quiet=True)
    progress.show("x", 0.0)
    progress.close()
    assert quiet.getvalue() == ""


def test_command_line_hides_the_password() -> None:
    shown = lt.command_line(["--password", "s3cret", "--target", "http://a", "--password=x y"])
    assert "s3cret" not in shown and "x y" not in shown
    assert shown.startswith("interview-live-loadtest --password '***' --target http://a")


def test_rss_growth_compares_the_start_of_the_run_with_its_end() -> None:
    from loadtest.run import rss_growth_percent

    flat = [[float(t), 10.0, 100.0] for t in range(100)]
    growing = [[float(t), 10.0, 100.0 + t] for t in range(100)]  # 100 → 199 MB
    assert rss_growth_percent([{"samples": flat}]) == 0.0
    # medians of the first fifth (≈ 110) and the last tenth (≈ 195): two processes summed
    growth = rss_growth_percent([{"samples": flat}, {"samples": growing}])
    assert growth is not None and 38 < growth < 42
    assert rss_growth_percent([{"samples": flat[:3]}]) is None


def test_analysed_rate_counts_frames_not_coalesced_events() -> None:
    # 5 frames analysed per second, but bursts reached the viewer as one event per second
    counts = [(float(t), 5 * t) for t in range(11)]
    times = [t for t, _ in counts]
    assert lt.analysed_rate(counts, times, 0.0, 10.0) == pytest.approx(5.0)
    assert lt.analysed_rate([], times, 0.0, 10.0) == pytest.approx(1.1)  # older server
    run = lt.CandidateRun(0, "http://127.0.0.1:1")
    run.record(1.0, {"type": "face_metrics", "faces": 1, "frames_analyzed": 3})
    run.record(2.0, {"type": "face_metrics", "faces": 1, "frames_analyzed": 8})
    assert run.face_counts == [(1.0, 3), (2.0, 8)]
