"""One decoder for every text upload (bulk invitations, question bank, training catalogue):
UTF-8 or UTF-16 as the byte-order mark says, else UTF-8, else GB18030."""

from __future__ import annotations

import json

import pytest

from server.core.csvsafe import decode_upload_text
from server.hiring.questionbank import load_builtin, parse_import
from server.hiring.training import parse_catalogue
from tests.support.uploads import UPLOAD_ENCODINGS, encoded
from tests.test_questionbank import GOOD_ROW, GOOD_ROW_PARSED, csv_text
from tests.test_training import CSV as CATALOGUE_CSV

TEXT = "name,email\n张三,zhang@example.com\n"


@pytest.mark.parametrize("encoding", UPLOAD_ENCODINGS)
def test_every_upload_encoding_decodes(encoding: str) -> None:
    assert decode_upload_text(encoded(TEXT, encoding)) == TEXT


@pytest.mark.parametrize(
    "content",
    [
        b"name\xff\x80\xff,email",  # neither UTF-8 nor GB18030
        b"\xff\xfe\x00ba",  # a UTF-16 mark, then an odd number of bytes
        b"\xef\xbb\xbfname\xff,email",  # a UTF-8 mark, then no UTF-8: the mark is believed
    ],
)
def test_undecodable_uploads_are_none(content: bytes) -> None:
    assert decode_upload_text(content) is None


@pytest.mark.parametrize("encoding", UPLOAD_ENCODINGS)
def test_question_bank_in_every_encoding(encoding: str) -> None:
    assert parse_import("q.csv", encoded(csv_text([GOOD_ROW]), encoding)) == [GOOD_ROW_PARSED]
    exported = load_builtin()[0].to_dict()
    as_json = json.dumps({"questions": [exported]}, ensure_ascii=False)
    for name in ("bank.json", "bank"):  # no extension: told apart from CSV by its text
        (question,) = parse_import(name, encoded(as_json, encoding))
        assert question["text"] == exported["text"]


@pytest.mark.parametrize("encoding", UPLOAD_ENCODINGS)
def test_training_catalogue_in_every_encoding(encoding: str) -> None:
    expected, errors = parse_catalogue("c.csv", CATALOGUE_CSV.encode())
    assert errors == [] and len(expected) == 5
    assert parse_catalogue("c.csv", encoded(CATALOGUE_CSV, encoding)) == (expected, [])
    as_json = json.dumps({"courses": expected}, ensure_ascii=False)
    assert parse_catalogue("c.json", encoded(as_json, encoding)) == (expected, [])
