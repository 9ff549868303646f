"""The impaired uplink of the load generator: the model on explicit timestamps, the hook on a
fake transport, and one real candidate streaming through 5 % loss."""

from __future__ import annotations

import asyncio
import json
import statistics
from pathlib import Path

import pytest

from loadtest.candidate.client import FlagLog
from loadtest.candidate.impair import (
    MAX_IN_FLIGHT_PACKETS,
    ImpairConfig,
    ImpairedSender,
    Impairment,
    gilbert_elliott,
    install,
    wire_bytes,
)
from loadtest.run import main
from media.impair import impair_receiving
from server.core.config import ConfigError, load_settings
from server.core.env import EnvError

PACKET_INTERVAL_S = 0.01
"""100 packets per second in the model tests."""


def fates(config: ImpairConfig, n: int, size_bytes: int = 1000) -> list[float | None]:
    model = Impairment(config)
    return [model.decide(i * PACKET_INTERVAL_S, size_bytes) for i in range(n)]


def test_the_default_changes_nothing() -> None:
    assert not ImpairConfig().active
    assert fates(ImpairConfig(), 1000) == [0.0] * 1000


@pytest.mark.parametrize("percent", [1.0, 5.0, 10.0])
def test_random_loss_rate_is_within_tolerance_and_seeded(percent: float) -> None:
    n = 20_000
    got = fates(ImpairConfig(loss_percent=percent, seed=7), n)
    lost = sum(f is None for f in got) / n
    assert lost == pytest.approx(percent / 100, abs=0.006)
    assert got == fates(ImpairConfig(loss_percent=percent, seed=7), n)  # deterministic
    assert got != fates(ImpairConfig(loss_percent=percent, seed=8), n)


def burst_lengths(got: list[float | None]) -> list[int]:
    runs, current = [], 0
    for fate in got:
        if fate is None:
            current += 1
        elif current:
            runs.append(current)
            current = 0
    return runs


def test_burst_loss_keeps_the_rate_and_the_mean_burst_length() -> None:
    n = 100_000
    got = fates(ImpairConfig(loss_percent=5.0, burst_loss_packets=4.0, seed=3), n)
    assert sum(f is None for f in got) / n == pytest.approx(0.05, abs=0.01)
    bursts = burst_lengths(got)
    assert statistics.mean(bursts) == pytest.approx(4.0, rel=0.1)
    independent = burst_lengths(fates(ImpairConfig(loss_percent=5.0, seed=3), n))
    assert statistics.mean(independent) < 1.2  # the same rate without bursts
    p_gb, p_bg = gilbert_elliott(0.05, 4.0)
    assert p_bg == 0.25 and p_gb / (p_gb + p_bg) == pytest.approx(0.05)


def test_delay_and_jitter_stay_in_bounds_and_keep_order() -> None:
    model = Impairment(ImpairConfig(delay_ms=300, jitter_ms=50, seed=1))
    deliveries = []
    for i in range(5000):
        now = i * PACKET_INTERVAL_S
        hold = model.decide(now, 1000)
        assert hold is not None
        deliveries.append(now + hold)
        assert 0.25 - 1e-9 <= hold <= 0.35 + PACKET_INTERVAL_S  # waits behind a later one
    assert deliveries == sorted(deliveries)  # never reordered
    holds = [d - i * PACKET_INTERVAL_S for i, d in enumerate(deliveries)]
    assert 0.3 <= statistics.mean(holds) <= 0.33  # keeping order only ever adds
    assert max(holds) - min(holds) > 0.08  # the jitter is there


def test_jitter_reorders_only_when_asked() -> None:
    model = Impairment(ImpairConfig(delay_ms=100, jitter_ms=50, reorder=True, seed=1))
    deliveries = []
    for i in range(1000):
        now = i * PACKET_INTERVAL_S
        hold = model.decide(now, 1000)
        assert hold is not None and 0.05 - 1e-9 <= hold <= 0.15 + 1e-9
        deliveries.append(now + hold)
    assert deliveries != sorted(deliveries)


def test_the_token_bucket_holds_the_rate_and_tail_drops() -> None:
    kbps, size = 300.0, 1000
    rate_bytes_per_s = kbps * 1000 / 8
    model = Impairment(ImpairConfig(uplink_kbps=kbps, queue_s=0.5))
    # offered: 1000 B every 10 ms = 100 kB/s, 2.7× the cap, for 20 s
    sent_at = []
    for i in range(2000):
        now = i * PACKET_INTERVAL_S
        hold = model.decide(now, size)
        if hold is not None:
            assert hold <= 0.5 + 1e-9  # the queue holds at most queue_s of the rate
            sent_at.append(now + hold)
    throughput = len(sent_at) * size / (max(sent_at) - min(sent_at))
    assert throughput == pytest.approx(rate_bytes_per_s, rel=0.03)
    assert model.stats.dropped_queue == 2000 - len(sent_at) > 0
    # under the cap nothing waits (beyond the bucket's depth) and nothing is dropped
    light = Impairment(ImpairConfig(uplink_kbps=kbps))
    assert all(light.decide(i * 0.1, size) == 0.0 for i in range(100))
    assert light.stats.dropped == 0


def test_the_outage_drops_everything_in_its_window_only() -> None:
    config = ImpairConfig(outage_at_s=5.0, outage_s=2.0)
    model = Impairment(config)
    start = 1000.0  # times count from the first packet
    for i in range(1000):
        t = i * PACKET_INTERVAL_S
        hold = model.decide(start + t, 500)
        assert (hold is None) == (5.0 <= t < 7.0 - 1e-9), t
    assert model.stats.dropped_outage == pytest.approx(200, abs=1)
    assert model.stats.as_dict()["dropped_share"] == pytest.approx(0.2, abs=0.002)


def test_bad_settings_are_refused() -> None:
    for bad in (
        {"loss_percent": 100.0},
        {"loss_percent": -1.0},
        {"burst_loss_packets": 3.0},  # bursts of no loss
        {"loss_percent": 5.0, "burst_loss_packets": 0.5},
        {"delay_ms": -1.0},
        {"uplink_kbps": 0.0},
        {"outage_s": -1.0},
    ):
        with pytest.raises(ValueError):
            ImpairConfig(**bad)  # type: ignore[arg-type]
    with pytest.raises(SystemExit):
        main(["--outage-at-s", "5"])  # without --outage-s
    a, b = ImpairConfig(seed=1).for_candidate(0), ImpairConfig(seed=1).for_candidate(1)
    assert a.seed != b.seed


def test_wire_bytes_count_srtp_and_headers() -> None:
    rtp = bytes([0x80, 96]) + bytes(98)
    rtcp_sr = bytes([0x80, 200]) + bytes(26)
    assert wire_bytes(rtp) == 100 + 10 + 28
    assert wire_bytes(rtcp_sr) == 28 + 14 + 28


class FakeDtls:
    def __init__(self) -> None:
        self.sent: list[tuple[float, bytes]] = []

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.append((asyncio.get_running_loop().time(), data))


def test_the_hook_drops_delays_and_keeps_order_on_a_real_loop() -> None:
    async def scenario() -> tuple[FakeDtls, FakeDtls, Impairment]:
        dtls, other = FakeDtls(), FakeDtls()
        model = Impairment(ImpairConfig(loss_percent=10, delay_ms=50, jitter_ms=20, seed=2))
        (sender,) = install([dtls, dtls, None], model)  # bundled: one transport, hooked once
        loop = asyncio.get_running_loop()
        for i in range(200):
            await dtls._send_rtp(bytes([0x80, 96, 0, i]))
            await other._send_rtp(b"untouched")
        t_last = loop.time()
        await asyncio.sleep(0.2)
        assert not sender.in_flight
        assert all(t >= t_last for t, _ in dtls.sent[-1:])
        return dtls, other, model

    dtls, other, model = asyncio.run(scenario())
    assert len(other.sent) == 200  # another peer connection is not impaired
    seqs = [data[3] for _, data in dtls.sent]
    assert seqs == sorted(seqs)
    assert model.stats.packets == 200
    assert model.stats.sent == len(seqs) == 200 - model.stats.dropped_loss
    assert 8 <= model.stats.dropped_loss <= 35


def test_in_flight_packets_are_bounded() -> None:
    async def scenario() -> tuple[ImpairedSender, FakeDtls]:
        dtls = FakeDtls()
        model = Impairment(ImpairConfig(delay_ms=10_000))
        (sender,) = install([dtls], model)
        for _ in range(MAX_IN_FLIGHT_PACKETS + 10):
            await dtls._send_rtp(b"\x80\x60")
        assert len(sender.in_flight) == MAX_IN_FLIGHT_PACKETS
        sender.cancel()
        return sender, dtls

    sender, dtls = asyncio.run(scenario())
    assert sender.model.stats.dropped_in_flight == 10
    assert dtls.sent == [] and not sender.in_flight


def test_the_flag_log_counts_flags_raised_by_type() -> None:
    log = FlagLog()
    for event in (
        {"type": "flag", "flag": "face_missing", "start_s": 3.0, "end_s": None},
        {"type": "flag", "flag": "face_missing", "start_s": 3.0, "end_s": 9.0},  # its end
        {"type": "flag", "flag": "long_silence", "start_s": 20.0, "end_s": None},
    ):
        log.add(event)
    assert log.as_dict() == {"raised": 2, "by_type": {"face_missing": 1, "long_silence": 1}}


def test_one_candidate_streams_through_five_percent_loss(tmp_path: Path) -> None:
    out = tmp_path / "lossy.json"
    argv = ["--candidates", "1", "--duration", "15", "--analysis-workers", "1", "--quiet"]
    argv += ["--loss", "5", "--impair-seed", "11", "--check-recordings", "--json", str(out)]
    assert main([*argv, "--cache", str(tmp_path / "media")]) == 0
    result = json.loads(out.read_text())
    assert result["refused"] == 0, result["details"][0]["refused"]
    impairment = result["impairment"]
    assert impairment["active"] and impairment["settings"]["loss_percent"] == 5.0
    (detail,) = result["details"]
    stats = detail["impairment"]
    assert stats["packets"] > 500  # ~15 s of audio and video packets
    assert stats["dropped"] == stats["dropped_loss"] == impairment["dropped"]
    assert stats["dropped_share"] == pytest.approx(0.05, abs=0.02)
    assert detail["finals"] >= 1
    assert set(detail["flags"]) == {"raised", "by_type"}
    assert result["flags_raised"] == detail["flags"]["raised"]
    assert result["transcript_match_min"] >= 0.9, detail  # 0.73 before media.jitter
    assert detail["media_loss"]["audio_concealed_s"] > 0, detail
    # what was recorded, downloaded and decoded: audio lost on the network is never
    # retransmitted, so the file has it as packets the player conceals (its timeline is
    # whole); video is recovered by retransmission
    recording = detail["recording"]
    assert recording["segments"] >= 1 and recording["decode_errors"] == 0, recording
    assert recording["audio_sent_s"] > 10, recording
    assert 0.98 <= recording["audio_completeness"] <= 1.0, recording
    assert 0.9 <= recording["audio_received"] < 0.99, recording
    assert recording["audio_concealed_s"] > 0, recording
    assert recording["video_completeness"] >= 0.97, recording
    assert result["recordings"]["checked"] == 1


class FakeReceivingDtls:
    """The two receive-side methods of an ``RTCDtlsTransport`` the server's hook wraps."""

    def __init__(self) -> None:
        self.rtp: list[tuple[float, bytes, int]] = []
        self.rtcp: list[bytes] = []

    async def _handle_rtp_data(self, data: bytes, arrival_time_ms: int) -> None:
        self.rtp.append((asyncio.get_running_loop().time(), data, arrival_time_ms))

    async def _handle_rtcp_data(self, data: bytes) -> None:
        self.rtcp.append(data)


def test_the_receive_hook_delays_arrivals_and_drops_rtp_and_rtcp() -> None:
    async def scenario() -> tuple[FakeReceivingDtls, Impairment]:
        dtls = FakeReceivingDtls()
        model = Impairment(ImpairConfig(loss_percent=20, delay_ms=40, seed=4))
        paths = impair_receiving([dtls, dtls], model)
        assert len(paths) == 2  # RTP and RTCP of the one (bundled) transport
        for i in range(100):
            await dtls._handle_rtp_data(bytes([0x80, 96, 0, i]), arrival_time_ms=1000 + i)
            await dtls._handle_rtcp_data(bytes([0x80, 200, 0, i]))
        await asyncio.sleep(0.15)
        assert not any(p.in_flight for p in paths)
        return dtls, model

    dtls, model = asyncio.run(scenario())
    seqs = [data[3] for _, data, _ in dtls.rtp]
    assert seqs == sorted(seqs) and 60 <= len(seqs) <= 95
    assert 60 <= len(dtls.rtcp) <= 95
    # a held packet arrives later by the time it was held (what bandwidth estimation reads)
    assert all(arrival - (1000 + data[3]) == 40 for _, data, arrival in dtls.rtp)
    assert model.stats.dropped_loss == 200 - len(seqs) - len(dtls.rtcp)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"loss_percent": 150}', "loss must be"),
        ('{"bogus": 1}', "bogus"),
        ("[5]", "JSON object"),
    ],
)
def test_a_bad_receive_impairment_stops_the_start(value: str, message: str) -> None:
    with pytest.raises((ConfigError, EnvError), match=message):
        load_settings({"INTERVIEW_TEST_RECEIVE_IMPAIRMENT": value})


def test_the_receive_impairment_is_off_unless_set() -> None:
    assert load_settings({}).receive_impairment() is None
    on = load_settings({"INTERVIEW_TEST_RECEIVE_IMPAIRMENT": '{"loss_percent": 5, "seed": 1}'})
    assert on.receive_impairment() == ImpairConfig(loss_percent=5, seed=1)
