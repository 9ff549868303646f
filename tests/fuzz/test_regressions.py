"""Inputs the fuzzers found that crashed, hung or flooded the server, kept as plain tests.

Each test names the failure; the fuzzer that found it is in the comment above. They use the
ordinary function-scoped ``server`` fixture (no Hypothesis), so each runs in well under a
second once the server handles its input.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import math
import re
import tracemalloc
import zipfile
from collections.abc import Callable
from typing import Any

import aiohttp
import openpyxl
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from loadtest.inprocess import make_job
from server.api.accesslog import RedactingAccessLogger
from server.app.app import api_document
from server.domain.models import Role
from server.hiring.questionbank import CSV_COLUMNS, ImportValidationError, parse_import
from server.live.analyzer_node import AnalyzerNode, _Owned
from server.live.results import ResultsConsumer, analysis_entry
from server.live.streams import BusCipher, pack
from server.security.auth import (
    check_signed_path,
    make_invitation_token,
    parse_invitation_token,
    same_text,
)
from tests.fuzz.test_bus import FUZZ_BUS, UNUSED_REDIS, RecordingPool
from tests.support import fuzz_clients
from tests.support.server import RunningServer

HANDLE_TIMEOUT_S = 2.0


async def _post(
    server: RunningServer, path: str, *, token: str | None = None, **kwargs: Any
) -> tuple[int, Any]:
    headers = dict(kwargs.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with server.http.post(server.base_url + path, headers=headers, **kwargs) as resp:
        return resp.status, await resp.json(content_type=None)


# -- JSON bodies (test_api_schema; server/api/http.py read_json) ------------------------------------

JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        pytest.param(b"\x8b\x15Z", "application/json", 400, id="not-utf8"),
        pytest.param(b'{"username": "\xe9"}', "application/json", 400, id="latin1-inside-json"),
        # the charset is ignored (JSON is UTF-8): the body is read, the fields are missing
        pytest.param(b"{}", "application/json; charset=x-nope", 422, id="unknown-charset"),
        pytest.param(b"[" * 100_000, "application/json", 400, id="nested-100000-deep"),
        pytest.param(b'{"a":' * 5_000, "application/json", 400, id="nested-objects"),
        pytest.param(b'{"username": "a\\udfffb"}', "application/json", 400, id="lone-surrogate"),
    ],
)
async def test_unreadable_json_body_is_a_400(
    server: RunningServer, body: bytes, content_type: str, expected: int
) -> None:
    # http.read_json: request.text() raises UnicodeDecodeError/LookupError outside its try,
    # json.loads raises RecursionError
    headers = {"Content-Type": content_type}
    status, answer = await _post(server, "/api/auth/login", data=body, headers=headers)
    assert status == expected, (status, answer)
    assert answer["error"] in ("bad_json", "bad_request", "invalid"), answer
    admin = await server.add_staff("admin", Role.ADMIN)
    status, answer = await _post(server, "/api/jobs", token=admin, data=body, headers=headers)
    assert status in (400, 422) and answer["error"] != "internal", (status, answer)


# -- multipart (test_api_schema; server/api/http.py read_upload) ------------------------------------


async def test_multipart_with_a_broken_part_header_is_a_400(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    boundary = "4bea7452f2ee0b8418ae8c1020a88206"
    status, answer = await _post(
        server,
        "/api/questions/import",
        token=admin,
        data=f"--{boundary}\r\n--{boundary}--\r\n".encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert status == 400 and answer["error"] == "bad_multipart", (status, answer)


# -- fields of the wrong type (test_api_schema) --------------------------------------------------


async def test_create_user_with_a_list_as_role_is_a_422(server: RunningServer) -> None:
    # routes_staff.create_user: ``role not in {set}`` with an unhashable role
    admin = await server.add_staff("admin", Role.ADMIN)
    body = {"username": "someone", "password": "long enough pw", "role": []}
    status, answer = await _post(server, "/api/users", token=admin, json=body)
    assert status == 422 and answer["error"] == "invalid_user", (status, answer)


async def test_job_plan_with_an_object_as_section_is_a_422(server: RunningServer) -> None:
    # jobs._plan: ``item.get("section") not in {set}`` with an unhashable section
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    body = {**job, "plan": [{"section": {}, "questions": []}, *job["plan"]]}
    status, answer = await _post(server, "/api/jobs", token=admin, json=body)
    assert status == 422 and answer["error"] == "invalid_job", (status, answer)


@pytest.mark.parametrize("sig", ["¤", "é" * 43])
async def test_signed_url_with_a_non_ascii_signature_is_refused_not_a_500(
    server: RunningServer, sig: str
) -> None:
    # auth.check_signed_path: hmac.compare_digest refuses str with non-ASCII characters
    url = server.base_url + "/api/recordings/%C2%A4"
    params = {"exp": "9999999999", "sub": "someone", "sig": sig}
    async with server.http.get(url, params=params) as resp:
        assert resp.status in (401, 403, 404), (resp.status, await resp.text())


def test_tokens_with_non_ascii_characters_are_refused() -> None:
    secret = b"k" * 32
    token = make_invitation_token(secret, "iv_1", 9_999_999_999, "nonce")
    assert parse_invitation_token(secret, token) is not None
    assert parse_invitation_token(secret, token[:-1] + "é") is None
    assert not check_signed_path(secret, "/api/recordings/r", "9999999999", "s", "ë" * 43, 0.0)
    assert not same_text("nonce", "nöncé") and same_text("nöncé", "nöncé")


async def test_xlsx_export_with_a_control_character_in_a_name(server: RunningServer) -> None:
    # schemathesis --checks all: an invitation named with U+000E, then ?format=xlsx was a 500
    # (openpyxl IllegalCharacterError); the cell shows U+FFFD instead
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    await server.call(
        "POST",
        f"/api/jobs/{job['id']}/invitations",
        token=admin,
        json={"name": "Ada\x0eLovelace", "email": "ada@example.com"},
        expect=201,
    )
    raw = await server.call("GET", f"/api/jobs/{job['id']}/export?format=xlsx", token=admin)
    sheet = openpyxl.load_workbook(io.BytesIO(raw)).active
    assert sheet is not None
    assert sheet.cell(row=2, column=2).value == "Ada\ufffdLovelace"


def test_a_request_refused_before_routing_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    # schemathesis --checks all: a NUL in a header value is refused by aiohttp's parser
    # before routing; the access logger asked that request for its app (AssertionError)
    request = make_mocked_request("GET", "/api/me")
    request._match_info = None  # how aiohttp hands over a request it refused before routing
    logger = logging.getLogger("test.access")
    with caplog.at_level(logging.INFO, logger="test.access"):
        RedactingAccessLogger(logger, "").log(request, web.Response(status=400), 0.001)
    assert [r.getMessage() for r in caplog.records] == [' "GET /api/me" 400 1.0 ms']


@pytest.mark.parametrize(
    ("path", "method", "schema"),
    [
        ("/api/jobs/{job_id}/reminders", "get", {"type": "array"}),
        ("/api/audit/export", "get", None),
    ],
)
def test_openapi_document_matches_what_handlers_return(
    path: str, method: str, schema: dict[str, Any] | None
) -> None:
    """``None``: the handler answers CSV, so the document must not promise JSON."""
    content = api_document()["paths"][path][method]["responses"]["200"]["content"]
    if schema is None:
        assert "text/csv" in content and "application/json" not in content, content
    else:
        assert content["application/json"]["schema"].get("type") == schema["type"], content


# -- imports (test_imports; server/hiring/questionbank.py, routes_staff.bulk_invitations) -------------


def _workbook(*rows: list[Any]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(CSV_COLUMNS))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _edit_member(xlsx: bytes, name: str, edit: Callable[[bytes], bytes], stored: bool) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == name:
                data = edit(data)
            kind = zipfile.ZIP_STORED if stored and item.filename == name else zipfile.ZIP_DEFLATED
            dst.writestr(item, data, compress_type=kind)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def _corrupt_deflate(xlsx: bytes) -> bytes:
    """The sheet's deflate stream starts with a reserved block type (zlib.error on read)."""
    raw = bytearray(xlsx)
    with zipfile.ZipFile(io.BytesIO(xlsx)) as book:
        info = book.getinfo(SHEET)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start] = 0xFF
    return bytes(raw)


@pytest.mark.parametrize(
    ("filename", "make"),
    [
        pytest.param("q.json", lambda: b"[" * 100_000, id="json-nested-100000-deep"),
        pytest.param("q.xlsx", lambda: _corrupt_deflate(_workbook()), id="xlsx-bad-deflate"),
        pytest.param(
            "q.xlsx",
            lambda: _edit_member(_workbook(), SHEET, lambda xml: xml + b"<c r=", stored=False),
            id="xlsx-junk-after-sheet-xml",
        ),
        pytest.param(
            "q.xlsx",
            lambda: _edit_member(_workbook(), SHEET, lambda xml: xml[:-40], stored=False),
            id="xlsx-truncated-sheet-xml",
        ),
    ],
)
async def test_unreadable_question_file_is_a_422(
    server: RunningServer, filename: str, make: Callable[[], bytes]
) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(make()), filename=filename)
    status, answer = await _post(server, "/api/questions/import", token=admin, data=form)
    assert status == 422 and answer["error"] == "invalid_import", (status, answer)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"name,email\nAda\rLovelace,ada@example.com\n", id="cr-in-a-cell"),
        pytest.param(b"name\r,email\nAda,ada@example.com\n", id="cr-in-the-header"),
    ],
)
async def test_bulk_invitations_with_a_bare_carriage_return_is_not_a_500(
    server: RunningServer, content: bytes
) -> None:
    # routes_staff.bulk_invitations: csv.Error from DictReader is not caught
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(content), filename="people.csv")
    status, answer = await _post(
        server, f"/api/jobs/{job['id']}/invitations/bulk", token=admin, data=form
    )
    assert status in (201, 422), (status, answer)


def _peak_mb(work: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _far_row_workbook(row: int) -> bytes:
    cell = f'<row r="{row}"><c r="A{row}" t="inlineStr"><is><t>structured</t></is></c></row>'
    return _edit_member(
        _workbook(),
        SHEET,
        lambda xml: xml.replace(b"</sheetData>", cell.encode() + b"</sheetData>"),
        stored=False,
    )


def _padded_workbook(padding_bytes: int) -> bytes:
    return _edit_member(
        _workbook(),
        SHEET,
        lambda xml: xml.replace(b"</sheetData>", b" " * padding_bytes + b"</sheetData>"),
        stored=False,
    )


@pytest.mark.parametrize(
    ("make", "what"),
    [
        # 5 KB: one cell on Excel's last row; every empty row before it is read and kept
        pytest.param(lambda: _far_row_workbook(1_048_576), "far row", id="far-row"),
        # 64 KB upload, 64 MB of sheet XML once inflated (a small zip bomb)
        pytest.param(lambda: _padded_workbook(64 << 20), "zip bomb", id="zip-bomb"),
    ],
)
def test_small_workbook_cannot_take_much_memory(make: Callable[[], bytes], what: str) -> None:
    # questionbank._read_xlsx: no limit on inflated size or on rows scanned
    content = make()
    assert len(content) < 100_000

    def parse() -> None:
        with pytest.raises(ImportValidationError):
            parse_import("q.xlsx", content)

    peak = _peak_mb(parse)
    assert peak < 32, f"a {len(content)} byte workbook ({what}) took {peak:.0f} MB to read"


# -- signalling (test_signalling; media/peer.py LivePeer.accept, server/interview/session.py) -------------


def _drop(line: str) -> Callable[[str], str]:
    return lambda sdp: sdp.replace(line + "\r\n", "", 1)


def _swap_media_lines(sdp: str) -> str:
    """The ``m=video`` and ``m=audio`` lines trade places; their attributes stay."""
    video = re.search(r"^m=video [^\r]*", sdp, flags=re.M)
    audio = re.search(r"^m=audio [^\r]*", sdp, flags=re.M)
    assert video and audio
    swapped = sdp.replace(video[0], "\0").replace(audio[0], video[0])
    return swapped.replace("\0", audio[0])


def _drop_first_media_line(sdp: str) -> str:
    return re.sub(r"^m=video [^\r]*\r\n", "", sdp, count=1, flags=re.M)


SDP_MUTATIONS: dict[str, Callable[[str], str]] = {
    "no-direction": _drop("a=sendonly"),
    "no-setup": lambda sdp: re.sub(r"a=setup:actpass\r\n", "", sdp),
    "empty-m-line": lambda sdp: sdp.replace("m=audio", "m=\r\nm=audio", 1),
    "empty-candidate": lambda sdp: sdp.replace("a=end-of-candidates", "a=candidate:", 1),
    "rtcp-without-address-type": lambda sdp: sdp.replace("a=rtcp:9 IN IP4", "a=rtcp:9 0 IP4", 1),
    "negative-payload-type": lambda sdp: re.sub(r"(m=audio \d+ \S+) 96", r"\1 -1", sdp),
    "rtpmap-without-value": lambda sdp: sdp.replace("a=rtpmap:100 rtx/90000", "a=rtpmap", 1),
    "rtx-without-its-rtpmap": _drop("a=rtpmap:100 rtx/90000"),
    "media-lines-swapped": _swap_media_lines,
    "video-m-line-missing": _drop_first_media_line,
    "duplicate-mid": lambda sdp: sdp.replace("a=mid:1", "a=mid:0"),
    "no-video-codec-we-take": lambda sdp: re.sub(
        r"a=rtpmap:(\d+) (VP8|H264)/90000", r"a=rtpmap:\1 AV1/90000", sdp
    ),
}


@pytest.mark.parametrize("mutation", sorted(SDP_MUTATIONS))
async def test_offer_aiortc_cannot_answer_is_a_400(server: RunningServer, mutation: str) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    token = await fuzz_clients.invite(server, admin, job["id"])
    await fuzz_clients.consent(server, token)
    sock = await fuzz_clients.control_socket(server, token)
    try:
        offer = await fuzz_clients.real_offer()
        bad = SDP_MUTATIONS[mutation](offer)
        assert bad != offer
        status, answer = await _post(
            server, "/api/candidate/offer", token=token, json={"type": "offer", "sdp": bad}
        )
        assert status == 400 and answer["error"] == "bad_sdp", (status, answer)
        status, answer = await _post(
            server, "/api/candidate/offer", token=token, json={"type": "offer", "sdp": offer}
        )
        assert status == 200 and answer["type"] == "answer", "a valid offer is refused after"
        assert not sock.closed.is_set()
    finally:
        await sock.aclose()


# -- sockets (test_websockets; server/api/ws_staff.py _handle, server/api/routes_candidate.py _handle) --


async def test_staff_socket_answers_deeply_nested_json_with_an_error(
    server: RunningServer,
) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    sock = await fuzz_clients.Socket.open(server, f"/ws?token={admin}")
    try:
        got = await sock.exchange(["[" * 3000 + "]" * 3000], json.dumps({"type": "ping"}))
        assert got.close_code is None, f"the socket died ({got.close_code}): {got.messages}"
        assert got.types == ["error", "pong"], got.messages
    finally:
        await sock.aclose()


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param("[" * 3000 + "]" * 3000, id="nested-3000-deep"),
        pytest.param(json.dumps({"type": "signal", "kind": []}), id="signal-kind-list"),
        pytest.param(json.dumps({"type": "signal", "kind": {"a": 1}}), id="signal-kind-object"),
    ],
)
async def test_candidate_socket_answers_bad_frames_with_a_plain_error(
    server: RunningServer, frame: str
) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    token = await fuzz_clients.invite(server, admin, job["id"])
    await fuzz_clients.consent(server, token)
    sock = await fuzz_clients.control_socket(server, token)
    try:
        got = await sock.exchange([frame], json.dumps({"type": "ping"}))
        assert got.types == ["error", "pong"], got.messages
        assert got.messages[0]["message"] != "internal error", "an unexpected exception"
    finally:
        await sock.aclose()


# -- bus (test_bus; server/live/results.py ResultsConsumer._handle, server/live/analyzer_node.py) ----------


async def _interview(server: RunningServer) -> str:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    created = await server.call(
        "POST",
        f"/api/jobs/{job['id']}/invitations",
        token=admin,
        json={"name": "Ada", "email": "ada@example.com"},
        expect=201,
    )
    return str(created["interview_id"])


RESULT_ENTRIES: dict[str, Callable[[str], dict[str, Any]]] = {
    "event-is-a-string": lambda iid: {"kind": "analysis", "event_id": "e", "event": "ab"},
    "event-type-is-a-list": lambda iid: analysis_entry(
        {"type": ["flag"], "interview_id": iid}, "e"
    ),
    "status-without-topics": lambda iid: {"kind": "status", "message": {}},
    "status-topics-not-a-list": lambda iid: {"kind": "status", "topics": 5, "message": {}},
    "status-message-is-a-string": lambda iid: {"kind": "status", "topics": ["x"], "message": "ab"},
    # these two were retried for ever: the store cannot take them
    "event-with-bytes": lambda iid: analysis_entry(
        {"type": "transcript_final", "interview_id": iid, "text": b"\x00"}, "e"
    ),
    "question-index-is-an-object": lambda iid: analysis_entry(
        {"type": "flag", "interview_id": iid, "question_index": {"a": 1}}, "e"
    ),
}


@pytest.mark.parametrize("shape", sorted(RESULT_ENTRIES))
async def test_results_consumer_skips_a_bad_entry_and_keeps_the_batch(
    server: RunningServer, shape: str
) -> None:
    iid = await _interview(server)
    bus = BusCipher(server.svc.keyring)
    consumer = ResultsConsumer(server.svc, UNUSED_REDIS, "regression", bus)
    good = analysis_entry(
        {"type": "transcript_final", "v": 1, "interview_id": iid, "t": 1.0, "text": "ok"}, "good"
    )
    entries = [
        ("il:results", b"1-0", pack(bus, "il:results", RESULT_ENTRIES[shape](iid))),
        ("il:results", b"2-0", pack(bus, "il:results", good)),
    ]
    try:
        await asyncio.wait_for(consumer._handle(entries), HANDLE_TIMEOUT_S)
        assert consumer.bad == 1
        stored = await server.svc.store.analysis_events(iid)
        assert [e["event_id"] for e in stored] == ["good"]
    finally:
        await consumer.aclose()


@pytest.mark.parametrize("value", [math.nan, math.inf])
async def test_results_consumer_publishes_strict_json(server: RunningServer, value: float) -> None:
    iid = await _interview(server)
    bus = BusCipher(server.svc.keyring)
    consumer = ResultsConsumer(server.svc, UNUSED_REDIS, "regression", bus)
    live = server.svc.hub.subscribe()
    topic = f"interview:{iid}"
    live.add(topic)
    live.activate(topic, {"type": "snapshot", "topic": topic, "seq": 0})
    live.get_nowait()
    event = {"type": "face_metrics", "interview_id": iid, "t": value, "yaw_deg": value}
    try:
        entry = pack(bus, "il:results", analysis_entry(event, "e"))
        await consumer._handle([("il:results", b"1-0", entry)])
        while live.qsize():
            text = live.get_nowait().text  # type: ignore[attr-defined]
            json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} sent to browsers"))
    finally:
        live.close()
        await consumer.aclose()


WORK_ENTRIES: dict[str, dict[str, Any]] = {
    "meta-is-a-list": {"k": "open", "meta": []},
    "context-is-a-string": {"k": "context", "context": "x"},
    "time-is-nan": {"k": "audio", "t": math.nan, "pcm": b"\x00\x00"},
    "time-is-infinite": {"k": "signal", "kind": "paste", "t": math.inf, "detail": ""},
    "pose-is-a-string": {"k": "video", "t": 1.0, "jpeg": b"\xff\xd8", "pose": "yes"},
    # bytes(2**62) raises MemoryError out of _handle (and 10**9 allocates a gigabyte)
    "jpeg-is-a-huge-int": {"k": "video", "t": 1.0, "jpeg": 2**62, "pose": True},
}


@pytest.mark.parametrize("shape", sorted(WORK_ENTRIES))
async def test_analyzer_node_skips_and_counts_bad_work(shape: str) -> None:
    pool = RecordingPool()
    node = AnalyzerNode(UNUSED_REDIS, "regression", pool, 4, FUZZ_BUS)  # type: ignore[arg-type]
    node._owned["iv"] = _Owned(opened=True)
    good = pack(FUZZ_BUS, "il:work:iv", {"k": "audio", "t": 2.0, "pcm": b"\x00\x00"})
    bad = pack(FUZZ_BUS, "il:work:iv", WORK_ENTRIES[shape])
    entries = [("il:work:iv", b"1-0", bad), ("il:work:iv", b"2-0", good)]
    try:
        await node._handle(entries)
        assert not pool.problems, f"ill-typed work reached the pool: {pool.problems}"
        assert pool.calls == [("audio", ("iv", 2.0))]
        assert getattr(node, "bad", None) == 1, "skipped entries are counted (like results.bad)"
    finally:
        await node._redis.aclose()
