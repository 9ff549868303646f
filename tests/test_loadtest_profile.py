"""The CPU budget of the load test (``loadtest.profile``): stage rules on hand-made py-spy
stacks, the /proc-calibrated attribution on a hand-made capture, and one real py-spy
capture of a busy child process."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from loadtest.profile import (
    Capture,
    ProfilerUnavailable,
    analyse,
    capture,
    finish,
    load_rules,
    markdown,
    parse_line,
    py_spy_path,
)
from loadtest.profile.capture import ProcWindow
from loadtest.profile.stages import UNATTRIBUTED_NATIVE, UNCLASSIFIED
from loadtest.run import main

SERVER = 'process 100:"/venv/bin/python3 -m server.app.cli serve --port 1"'
WORKER = (
    'process 200:"/venv/bin/python3 -B -c from multiprocessing.spawn import spawn_main; '
    'spawn_main(tracker_fd=18, pipe_handle=22) --multiprocessing-fork"'
)
LOOP = "thread (100): MainThread;<module> (server/app/cli.py:9);run (asyncio/runners.py:190)"
WORK = (
    "thread (200): MainThread;<module> (<string>:1);spawn_main (multiprocessing/spawn.py:120);"
    "worker_main (analyzers/worker.py:100)"
)
RECV = (
    f"{LOOP};RTCDtlsTransport._recv_next (aiortc/rtcdtlstransport.py:650);"
    "RTCDtlsTransport._handle_rtp_data (aiortc/rtcdtlstransport.py:623);"
    "RTCRtpReceiver._handle_rtp_packet (aiortc/rtcrtpreceiver.py:548)"
)

# one stack per stage: (raw line without its count, the stage expected)
STACKS: list[tuple[str, str]] = [
    (f"{SERVER};{RECV};RtpPacket.parse (aiortc/rtp.py:300)", "RTP receive + SRTP"),
    (f"{SERVER};{RECV};JitterBuffer.add (aiortc/jitterbuffer.py:40)", "jitter buffer"),
    (
        f"{SERVER};{RECV};depayload (aiortc/codecs/__init__.py:70);"
        "vp8_depayload (aiortc/codecs/vpx.py:275)",
        "depacketisation",
    ),
    (
        f"{SERVER};thread (101): video-decoder;Thread.run (threading.py:982);"
        "decoder_worker (aiortc/rtcrtpreceiver.py:77);Vp8Decoder.decode (aiortc/codecs/vpx.py:171)",
        "VP8 decode",
    ),
    (
        f"{SERVER};thread (101): video-decoder;Thread.run (threading.py:982);"
        "decoder_worker (aiortc/rtcrtpreceiver.py:90);"
        "run_coroutine_threadsafe (asyncio/tasks.py:940)",
        "VP8 decode",  # the thread's name decides before the generic asyncio rule
    ),
    (
        f"{SERVER};thread (102): audio-decoder;decoder_worker (aiortc/rtcrtpreceiver.py:77);"
        "OpusDecoder.decode (aiortc/codecs/opus.py:28)",
        "Opus decode + resample",
    ),
    (
        f"{SERVER};{LOOP};LivePeer._drain (media/peer.py:175);"
        "AnalysisFanout.audio (media/fanout.py:44);AudioAdapter.push (media/adapters.py:62)",
        "Opus decode + resample",
    ),
    (
        f"{SERVER};thread (103): answer-recorder-writer;AnswerRecorder._run (media/recorder.py:340);"
        "AnswerRecorder._mux (media/recorder.py:430);EncryptingFile.write (server/security/blob.py:80)",
        "recorder mux/encrypt",  # the writer's encryption is its cost, not "server"
    ),
    (
        f"{SERVER};{RECV};_TapQueue.put (media/tap.py:136)",
        "recorder mux/encrypt",
    ),
    (
        f"{SERVER};thread (104): uvloop_0;_worker (concurrent/futures/thread.py:83);"
        "video_sample (media/adapters.py:87)",
        "frame downscale + hand-off",
    ),
    (
        f"{SERVER};thread (105): QueueFeederThread;Queue._feed (multiprocessing/queues.py:250);"
        "_ForkingPickler.dumps (multiprocessing/reduction.py:51)",
        "analyzer IPC",
    ),
    (
        f"{WORKER};{WORK};FaceAnalyzer.analyze (analyzers/vision/face.py:141);"
        "SolutionBase.process (mediapipe/python/solution_base.py:330)",
        "face",
    ),
    (
        f"{WORKER};{WORK};InterviewAnalysis.push_video (analyzers/pipeline.py:130);"
        "PostureAnalyzer.analyze (analyzers/vision/posture.py:70)",
        "posture",
    ),
    (
        f"{WORKER};{WORK};InterviewAnalysis.push_audio (analyzers/pipeline.py:114);"
        "StreamingTranscriber.push (analyzers/speech/asr.py:354);StreamingVad.feed (analyzers/speech/vad.py:60)",
        "VAD",
    ),
    (
        f"{WORKER};{WORK};InterviewAnalysis.finals (analyzers/pipeline.py:190);"
        "StreamingTranscriber.finals (analyzers/speech/asr.py:440);"
        "StreamingTranscriber._transcribe (analyzers/speech/asr.py:540);"
        "WhisperModel.transcribe (faster_whisper/transcribe.py:916)",
        "ASR finals",
    ),
    (
        f"{WORKER};{WORK};InterviewAnalysis.partial (analyzers/pipeline.py:207);"
        "StreamingTranscriber.partial (analyzers/speech/asr.py:478);"
        "StreamingTranscriber._transcribe (analyzers/speech/asr.py:540);"
        "WhisperModel.generate_segments (faster_whisper/transcribe.py:1213)",
        "ASR partials",
    ),
    (
        f"{WORKER};{WORK};InterviewAnalysis.push_video (analyzers/pipeline.py:132);"
        "FlagTracker.observe_face (analyzers/flags.py:240)",
        "scoring/flags",
    ),
    (
        f"{SERVER};{LOOP};AnalysisSink._run (server/live/analysis.py:85);"
        "Hub.publish (server/live/hub.py:165);Subscription.deliver (server/live/hub.py:90)",
        "publication",
    ),
    (
        f"{SERVER};thread (106): sqlite_0;_worker (concurrent/futures/thread.py:83);"
        "Store.add_analysis_events (server/storage/store.py:200)",
        "persistence",
    ),
    (
        f"{SERVER};{LOOP};Handle._run (asyncio/events.py:84);"
        "staff_socket (server/api/ws_staff.py:90);dumps (json/__init__.py:231)",
        "publication",
    ),
    (f"{SERVER};{LOOP};Handle._run (asyncio/events.py:84)", "event loop / other"),
    (f"{SERVER};thread (107): mystery;spin (somewhere/else.py:3)", UNCLASSIFIED),
    (  # a final decoded ahead runs in the worker's idle-time call, but it is a final's work
        f"{WORKER};{WORK};InterviewAnalysis.partial (analyzers/pipeline.py:207);"
        "StreamingTranscriber.speculate (analyzers/speech/asr.py:620);"
        "StreamingTranscriber._decode_final (analyzers/speech/asr.py:590);"
        "StreamingTranscriber._transcribe (analyzers/speech/asr.py:540);"
        "WhisperModel.generate_segments (faster_whisper/transcribe.py:1213)",
        "ASR finals",
    ),
]


@pytest.fixture(scope="module")
def rules() -> Any:
    return load_rules()


@pytest.mark.parametrize(
    ("line", "stage"), STACKS, ids=[f"{i}-{s}" for i, (_, s) in enumerate(STACKS)]
)
def test_each_stage_rule_classifies_its_stack(rules: Any, line: str, stage: str) -> None:
    stack = parse_line(f"{line} 7")
    assert stack is not None and stack.count == 7
    assert rules.classify(stack) == stage


def test_every_measured_stage_has_a_rule(rules: Any) -> None:
    covered = {stage for _, stage in STACKS}
    assert set(rules.stages) - covered == {UNATTRIBUTED_NATIVE}  # the /proc-only remainder


def test_raw_lines_with_semicolons_in_command_lines_are_parsed() -> None:
    stack = parse_line(f"{SERVER};{WORKER};{WORK};worker_main (analyzers/worker.py:99) 3")
    assert stack is not None
    assert (stack.pid, stack.tid, stack.thread, stack.count) == (200, 200, "MainThread", 3)
    assert "spawn_main; spawn_main" in stack.cmdline
    assert stack.frames[-1].function == "worker_main"
    assert stack.frames[-1].file == "analyzers/worker.py"
    assert parse_line("") is None and parse_line("garbage") is None


def _capture(tmp: Path, active: list[str], waits: list[str], processes: dict[str, Any]) -> Capture:
    (tmp / "active.txt").write_text("\n".join(active) + "\n")
    (tmp / "waits.txt").write_text("\n".join(waits) + "\n")
    meta = {
        "rate_hz": 100,
        "waits_rate_hz": 25,
        "sampling_s": 10,
        "sampler_cpu_s": 1.0,
        "active_files": ["active.txt"],
        "waits_files": ["waits.txt"],
        "proc": {"t0": 0.0, "t1": 10.0, "wall_s": 10.0, "processes": processes},
    }
    (tmp / "proc.json").write_text(json.dumps(meta))
    return Capture(tmp, meta)


def _stage(profile: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in profile["stages"] if r["stage"] == name)


def test_cpu_is_calibrated_per_thread_and_helper_threads_follow_the_waits(
    tmp_path: Path, rules: Any
) -> None:
    face, asr_final, vad = STACKS[11][0], STACKS[14][0], STACKS[13][0]
    decode, loop = STACKS[3][0], STACKS[20][0]
    processes = {
        "100": {  # media: the loop thread (runnable samples over-count it) and a decoder
            "cmdline": "/venv/bin/python3 -m server.app.cli serve --port 1",
            "cpu_s": 1.5,
            "threads": {
                "100": {"comm": "python3", "cpu_s": 1.0},
                "101": {"comm": "python3", "cpu_s": 0.5},
            },
        },
        "200": {  # worker: Python main thread, mediapipe graph threads, a CTranslate2 thread
            "cmdline": "/venv/bin/python3 -B -c from multiprocessing.spawn import spawn_main; x",
            "cpu_s": 6.2,  # 0.2 s more than its threads: a thread that came and went
            "threads": {
                "200": {"comm": "python3", "cpu_s": 1.0},
                "201": {"comm": "mediapipe/201", "cpu_s": 3.0},
                "202": {"comm": "python3", "cpu_s": 2.0},
            },
        },
    }
    active = [f"{loop} 300", f"{decode} 40", f"{face} 30", f"{vad} 70"]
    # the worker's main thread spent its time inside face analysis and finals (waiting)
    waits = [f"{face} 60", f"{asr_final} 30", f"{vad} 10", f"{decode} 25", f"{loop} 250"]
    # mediapipe's stock graphs (their own executor threads): face and posture are native stages
    stock = dataclasses.replace(rules, native=rules.native | {"face", "posture"})
    profile = analyse(_capture(tmp_path, active, waits, processes), stock, candidates=2)

    total = profile["total"]
    assert total["proc_percent"] == pytest.approx(77.0)  # 7.7 s of CPU in 10 s
    assert sum(r["percent_per_candidate"] for r in profile["stages"]) == pytest.approx(
        38.5, abs=0.05
    )
    assert total["coverage"] == pytest.approx(4.4 / 7.7, abs=0.001)  # 440 samples at 100 Hz
    # per thread: the loop's 300 samples are scaled down to its 1.0 s
    assert _stage(profile, "event loop / other")["percent_per_candidate"] == pytest.approx(5.0)
    assert _stage(profile, "VP8 decode")["percent_per_candidate"] == pytest.approx(2.5)
    # the worker's main thread: 1.0 s split 30:70 over face and VAD
    # mediapipe threads (3.0 s) → face only (posture had no waits); the CTranslate2 thread
    # and the 0.2 s of a vanished thread (2.2 s) → the native stage of the waits: ASR finals
    assert _stage(profile, "face")["percent_per_candidate"] == pytest.approx((0.3 + 3.0) / 10 * 50)
    assert _stage(profile, "VAD")["percent_per_candidate"] == pytest.approx(0.7 / 10 * 50)
    assert _stage(profile, "ASR finals")["percent_per_candidate"] == pytest.approx(2.2 / 10 * 50)
    assert _stage(profile, "ASR finals")["helper_threads_percent_per_candidate"] == pytest.approx(
        11.0
    )
    assert _stage(profile, UNATTRIBUTED_NATIVE)["percent_per_candidate"] == 0
    assert _stage(profile, "face")["by_role_percent_per_candidate"]["analyzer workers"] > 0
    table = markdown(profile)
    assert "| face | 0.00 | 16.5 | 16.5 |" in table
    assert "| **total** | **7.50** | **31.0** | **38.5** |" in table


def test_helper_cpu_without_waits_is_unattributed(tmp_path: Path, rules: Any) -> None:
    processes = {
        "300": {
            "cmdline": "python3 -m something.else",
            "cpu_s": 2.0,
            "threads": {
                "300": {"comm": "python3", "cpu_s": 0.5},
                "301": {"comm": "python3", "cpu_s": 1.5},
            },
        }
    }
    line = 'process 300:"python3 -m something.else";thread (300): MainThread;spin (else.py:3)'
    profile = analyse(_capture(tmp_path, [f"{line} 50"], [f"{line} 25"], processes), rules, 1)
    assert _stage(profile, UNATTRIBUTED_NATIVE)["percent_per_candidate"] == pytest.approx(15.0)
    assert _stage(profile, UNCLASSIFIED)["percent_per_candidate"] == pytest.approx(5.0)
    assert profile["top_unclassified"][0]["samples"] == 50


BUSY_CHILD = textwrap.dedent(
    """
    import sys, time

    class StreamingTranscriber:  # named like the stage rule "ASR finals"
        def finals(self, until):
            x = 0
            while time.monotonic() < until:
                x += sum(range(200))

    print("ready", flush=True)
    StreamingTranscriber().finals(time.monotonic() + float(sys.argv[1]))
    """
)


def test_py_spy_attributes_a_busy_process_to_its_stage(tmp_path: Path, rules: Any) -> None:
    try:
        py_spy_path()
    except ProfilerUnavailable as exc:
        pytest.skip(str(exc))
    script = tmp_path / "busy.py"
    script.write_text(BUSY_CHILD)
    with subprocess.Popen(
        [sys.executable, str(script), "6"], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            time.sleep(0.2)
            try:
                cap = asyncio.run(capture([child.pid], tmp_path / "cap", 2.0, rate=50))
            except ProfilerUnavailable as exc:  # e.g. ptrace not permitted in this sandbox
                pytest.skip(f"py-spy cannot attach here: {exc}")
        finally:
            child.kill()
    entry = finish(cap, 1)
    profile = json.loads(Path(entry["json"]).read_text())
    finals = _stage(profile, "ASR finals")["percent_per_candidate"]
    total = profile["total"]
    assert total["proc_percent"] > 5, total  # busy, on a machine that may be shared
    assert finals >= 0.8 * total["proc_percent_per_candidate"], profile["stages"]
    # a pure-Python process: py-spy sees all of its CPU (more when it waits for a core)
    assert total["coverage"] >= 0.7, total
    assert Path(entry["md"]).read_text().count("| ASR finals |") == 1


def test_profile_needs_processes_to_sample() -> None:
    with pytest.raises(SystemExit):
        main(["--target", "http://127.0.0.1:1", "--profile", "/tmp/x"])


def test_proc_window_keeps_threads_that_ended_and_starts_new_ones_at_zero() -> None:
    window = ProcWindow()

    def snap(cpu: float, threads: dict[int, float]) -> dict[int, dict[str, Any]]:
        return {
            1: {"cmdline": "x", "cpu_s": cpu, "threads": {t: ("x", c) for t, c in threads.items()}}
        }

    window.add(snap(1.0, {1: 0.5, 2: 0.5}), 0.0)
    window.add(snap(2.0, {1: 1.0, 2: 0.8, 3: 0.1}), 1.0)
    window.add(snap(3.0, {1: 1.5, 3: 0.6}), 2.0)  # thread 2 ended
    usage = window.usage()
    assert usage["wall_s"] == 2.0
    proc = usage["processes"]["1"]
    assert proc["cpu_s"] == 2.0
    assert {t: v["cpu_s"] for t, v in proc["threads"].items()} == {"1": 1.0, "2": 0.3, "3": 0.6}


def test_cpu_of_threads_between_two_reads_follows_their_samples(tmp_path: Path, rules: Any) -> None:
    decode, loop = STACKS[3][0], STACKS[20][0]  # tids 101 (not in /proc) and 100
    processes = {
        "100": {
            "cmdline": "/venv/bin/python3 -m server.app.cli serve",
            "cpu_s": 2.0,
            "threads": {"100": {"comm": "python3", "cpu_s": 1.5}},
        }
    }
    profile = analyse(_capture(tmp_path, [f"{loop} 50", f"{decode} 10"], [], processes), rules, 1)
    assert _stage(profile, "event loop / other")["percent_per_candidate"] == pytest.approx(15.0)
    assert _stage(profile, "VP8 decode")["percent_per_candidate"] == pytest.approx(5.0)
