"""The test-media generators and the recording checks agree with each other and with Chromium."""

from __future__ import annotations

import asyncio
import base64
import io
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.support.checks import (
    MediaDecodeError,
    count_frames_with_face,
    decode_ok,
    image_has_face,
    transcribe,
    wer,
    windowed_cer,
    windowed_wer,
)
from tests.support.media import (
    face_y4m,
    mux_webm,
    read_wav_s16_mono,
    speech_wav,
    write_wav_s16_mono,
)

SENTENCE = "My greatest strength is that I listen carefully and learn quickly from my mistakes."
MAX_WER = 0.1
MIN_FACE_FRACTION = 0.9
CLIP_FPS = 15
CLIP_S = 2.0
CHROMIUM_BIN = Path("/usr/bin/chromium")
CHROMIUM_LAUNCH_TIMEOUT_S = 30.0
CHROMIUM_TEST_TIMEOUT_S = 45.0
AUDIO_LEVEL_WAIT_S = 5.0


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def sentence_wav(media_dir: Path) -> Path:
    return speech_wav(SENTENCE, media_dir / "sentence.wav")


@pytest.fixture(scope="module")
def face_clip(media_dir: Path) -> Path:
    return face_y4m(media_dir / "face.y4m", seconds=CLIP_S, fps=CLIP_FPS)


def test_windowed_wer_finds_reference_in_looped_text() -> None:
    words = SENTENCE.split()
    looped = " ".join(words[6:] + words + words[:4])  # starts mid-sentence, like a looped fake mic
    assert windowed_wer(SENTENCE, looped) == 0.0
    assert wer(SENTENCE, looped) > 0.5
    assert windowed_wer("Hello, World!", "hello world") == 0.0
    assert windowed_wer("don't stop", "Dont STOP.") == 0.0


def test_windowed_cer_finds_mandarin_in_looped_traditional_text() -> None:
    said = "我会第一时间向领导报告，启动应急预案。"
    looped = "啟動應急預案。我會第一時間向領導報告，啟動應急預案。我會第一"  # Traditional, looped
    assert windowed_cer(said, looped) == 0.0
    assert windowed_cer(said, "以下是普通的讀体") > 0.5
    assert windowed_cer(said, "") == 1.0
    assert windowed_wer(SENTENCE, "") == 1.0
    with pytest.raises(ValueError):
        windowed_wer("...", "anything")


def test_speech_wav_format_cache_and_transcript(sentence_wav: Path, media_dir: Path) -> None:
    samples, rate_hz = read_wav_s16_mono(sentence_wav)
    assert rate_hz == 48000
    tail_s = 1.0
    assert not samples[-int(tail_s * rate_hz) :].any(), "trailing silence"
    assert np.abs(samples).max() > 1000, "audible speech"

    started = time.perf_counter()
    again = speech_wav(SENTENCE, media_dir / "again.wav")
    assert time.perf_counter() - started < 0.5
    assert again.read_bytes() == sentence_wav.read_bytes()

    text = transcribe(sentence_wav)
    assert windowed_wer(SENTENCE, text) <= MAX_WER, text


def test_looped_speech_matches_reference(sentence_wav: Path, tmp_path: Path) -> None:
    samples, rate_hz = read_wav_s16_mono(sentence_wav)
    # What a recording of a looping fake mic looks like: mid-sentence, then two full copies.
    looped = np.concatenate([samples[len(samples) // 2 :], samples, samples])
    path = write_wav_s16_mono(looped, tmp_path / "looped.wav", rate_hz)
    text = transcribe(path)
    # tiny.en transcribes this espeak sentence exactly (measured), so a full copy must be found.
    assert windowed_wer(SENTENCE, text) == 0.0, text
    assert wer(SENTENCE, text) > 1.0, text


def test_face_clip_shows_a_moving_face(face_clip: Path) -> None:
    summary = decode_ok(face_clip)
    assert (summary["video_width"], summary["video_height"]) == (640, 480)
    assert summary["video_frames"] == round(CLIP_S * CLIP_FPS)

    with av.open(str(face_clip)) as container:
        frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    assert not np.array_equal(frames[0], frames[len(frames) // 4]), "the picture moves"

    with_face, checked = count_frames_with_face(face_clip)
    assert checked == len(frames)
    assert with_face >= MIN_FACE_FRACTION * checked


def test_black_video_has_no_face(tmp_path: Path) -> None:
    path = tmp_path / "black.y4m"
    with av.open(str(path), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=CLIP_FPS)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((480, 640, 3), np.uint8), format="rgb24")
            frame = frame.reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, CLIP_FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert count_frames_with_face(path) == (0, 10)


def test_webm_recording_checks(face_clip: Path, sentence_wav: Path, tmp_path: Path) -> None:
    webm = mux_webm(face_clip, sentence_wav, tmp_path / "answer.webm")
    summary = decode_ok(webm)
    samples, rate_hz = read_wav_s16_mono(sentence_wav)
    assert summary["video_frames"] == round(CLIP_S * CLIP_FPS)
    assert (summary["video_width"], summary["video_height"]) == (640, 480)
    assert summary["audio_duration_s"] == pytest.approx(len(samples) / rate_hz, abs=0.1)

    assert windowed_wer(SENTENCE, transcribe(webm)) <= MAX_WER
    with_face, checked = count_frames_with_face(webm, max_frames=10)
    assert checked == 10
    assert with_face >= MIN_FACE_FRACTION * checked


def test_decode_ok_rejects_garbage(tmp_path: Path) -> None:
    junk = tmp_path / "junk.webm"
    junk.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 8)
    with pytest.raises(MediaDecodeError):
        decode_ok(junk)
    with pytest.raises(MediaDecodeError):
        decode_ok(tmp_path / "missing.webm")


# Runs in the page: open the fake camera and mic, report the video settings,
# a PNG of one video frame and the first non-zero audio peak.
_GET_USER_MEDIA_JS = """async (waitMs) => {
  const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: true});
  const settings = stream.getVideoTracks()[0].getSettings();
  const video = document.createElement("video");
  video.muted = true;
  video.srcObject = stream;
  await video.play();
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  const ctx = new AudioContext();
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  ctx.createMediaStreamSource(stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  let peak = 0;
  const t0 = performance.now();
  while (peak === 0 && performance.now() - t0 < waitMs) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    analyser.getFloatTimeDomainData(buf);
    for (const v of buf) peak = Math.max(peak, Math.abs(v));
  }
  stream.getTracks().forEach((t) => t.stop());
  await ctx.close();
  return {width: settings.width, height: settings.height, png: canvas.toDataURL("image/png"), peak};
}"""


@pytest.mark.e2e
@pytest.mark.skipif(not CHROMIUM_BIN.exists(), reason=f"{CHROMIUM_BIN} not installed")
@pytest.mark.timeout(CHROMIUM_TEST_TIMEOUT_S + 15)
async def test_chromium_accepts_fake_capture_files(face_clip: Path, sentence_wav: Path) -> None:
    from playwright.async_api import Route, async_playwright

    async def blank_page(route: Route) -> None:
        await route.fulfill(
            status=200, content_type="text/html", body="<!doctype html><title>media</title>"
        )

    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={face_clip}",
        f"--use-file-for-fake-audio-capture={sentence_wav}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    async with asyncio.timeout(CHROMIUM_TEST_TIMEOUT_S), async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM_BIN), args=args, timeout=CHROMIUM_LAUNCH_TIMEOUT_S * 1000
        )
        try:
            page = await browser.new_page()
            # getUserMedia needs a secure context: http://localhost is one; about:blank is not.
            await page.route("http://localhost/**", blank_page)
            await page.goto("http://localhost/media-check")
            result = await page.evaluate(_GET_USER_MEDIA_JS, AUDIO_LEVEL_WAIT_S * 1000)
        finally:
            await browser.close()

    assert (result["width"], result["height"]) == (640, 480)
    assert result["peak"] > 0, "no audio level from the fake microphone"
    png = base64.b64decode(result["png"].split(",", 1)[1])
    frame = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    # Chromium's built-in fake camera is also 640x480; a face proves it played our file.
    assert image_has_face(frame)
