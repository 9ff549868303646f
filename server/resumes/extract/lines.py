"""Résumé text as lines grouped into sections by their headings (step 1 of
:mod:`server.resumes.extract`), and the ``source`` every value keeps."""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field

from common.text import CJK_RE
from server.resumes.extract.lexicon import list_keys, word_list

MAX_SOURCE_CHARS = 200
"""Longest ``source`` kept for a value, in characters."""

MAX_HEADING_CHARS = 40
"""Longest line (in characters) that can be a section heading."""

MAX_ENTRY_NEIGHBOUR_LINES = 3
"""Lines next to a job's date line searched for its employer and role; also the most lines an
education entry takes in besides its first."""

MAX_LINE_CHARS = 1_000
"""Longer lines (a PDF paragraph without breaks) are cut into pieces of at most this many
characters, at a space when possible: it bounds the work of every per-line rule."""


class Section(enum.Enum):
    """What a block of lines is about, from its heading."""

    HEADER = "header"
    """Lines before the first heading (contact details; the whole text when no heading)."""
    EDUCATION = "education"
    EXPERIENCE = "experience"
    INTERNSHIP = "internship"
    """An experience section about internships (jobs there count as internships)."""
    SKILLS = "skills"
    CERTIFICATES = "certificates"
    SKILLS_CERTIFICATES = "skills_certificates"
    """A combined heading (``技能证书``): items are sorted by certificate cues."""
    AWARDS = "awards"
    """Awards and honours (``获奖情况``, ``Honors``): neither certificates nor skills."""
    SUMMARY = "summary"
    PROJECTS = "projects"
    OTHER = "other"
    """A recognised heading of no interest (hobbies, objective, ...): ends the previous section."""


_HEADING_FILE = "headings"
_HEADINGS: dict[Section, tuple[str, ...]] = {
    Section(key): word_list(_HEADING_FILE, key) for key in list_keys(_HEADING_FILE) if key != "weak"
}
"""Titles of each section (``server/data/resume/headings.json``)."""

_BULLET = r"•·●○■□◆◇▪▫►▶➢✓✔*\-–—>"
BULLET_RE = re.compile(rf"^(?:[{_BULLET}]+|\d{{1,2}}[.、)](?!\d))\s*")
_NUMBERING_RE = re.compile(
    r"^(?:[一二三四五六七八九十]+[、.]|\(?[一二三四五六七八九十\d]{1,2}[)、.]|\d{1,2}\s|[IVX]+\.)\s*"
)
_DECORATION_RE = re.compile(r"[【】\[\]《》<>■□●○◆◇▶►▪•·*#=_~—–\-:|/\\()\s\d]+")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the résumé, in its section."""

    text: str
    """The content (without an inline heading such as ``技能：``)."""
    raw: str
    """The whole line as in the résumé (the ``source`` of what is found on it)."""


@dataclass(slots=True)
class Block:
    """A section: its kind and its lines (headings excluded)."""

    section: Section
    lines: list[Line] = field(default_factory=list)


def split_sections(text: str) -> list[Block]:
    """The text's lines grouped by heading; the first block is the header (maybe empty)."""
    blocks = [Block(Section.HEADER)]
    for raw in (piece for line in text.split("\n") for piece in _cut_long(line)):
        raw = raw.strip()
        plain = plain_line(raw)
        if not plain:
            continue
        heading = _heading(plain)
        if heading is None:
            blocks[-1].lines.append(Line(plain, raw))
            continue
        section, rest = heading
        if not (rest and section is blocks[-1].section):  # "学历：本科" inside 教育背景 goes on
            blocks.append(Block(section))
        if rest:
            blocks[-1].lines.append(Line(rest, raw))
    return blocks


def section_lines(
    blocks: Iterable[Block], sections: Collection[Section]
) -> Iterator[tuple[Section, Line]]:
    """Each line of the blocks whose section is one of ``sections``, with that section."""
    for block in blocks:
        if block.section in sections:
            for line in block.lines:
                yield block.section, line


def plain_line(text: str) -> str:
    """The line without Markdown emphasis and heading marks (``# Ana Chen``, ``**Skills**``)."""
    return _MARKDOWN_RE.sub("", text).strip()


_MARKDOWN_RE = re.compile(r"^#{1,6}\s+|\*\*|__")


def _cut_long(line: str) -> Iterator[str]:
    while len(line) > MAX_LINE_CHARS:
        cut = line.rfind(" ", MAX_LINE_CHARS // 2, MAX_LINE_CHARS)
        cut = cut if cut > 0 else MAX_LINE_CHARS
        yield line[:cut]
        line = line[cut:]
    yield line


# --------------------------------------------------------------------------- headings


def _heading_index() -> dict[str, Section]:
    return {
        _heading_key(title): section for section, titles in _HEADINGS.items() for title in titles
    }


def _heading_key(text: str) -> str:
    return _DECORATION_RE.sub("", text.replace("&", "and")).lower()


def _heading(line: str) -> tuple[Section, str] | None:
    """(section, content after the heading) when the line is or starts with a heading.
    A list item (``• Leadership``) is no heading; a weak heading word (``Languages``,
    ``荣誉``) must stand alone on its line."""
    if _LIST_ITEM_RE.match(line):
        return None
    if (section := heading_section(line)) is not None:
        return section, ""
    for head, rest in _heading_splits(line):
        if not rest or _heading_key(head) in _WEAK_HEADINGS:
            continue
        if (section := heading_section(head)) is not None:
            return section, rest.strip()
    return None


def _heading_splits(line: str) -> Iterator[tuple[str, str]]:
    """Ways a line may start with a heading: ``技能：…``, ``教育背景 | …``, ``【技能】…``."""
    for separator in (":", " | "):
        if separator in line:
            head, rest = line.split(separator, 1)
            yield head, rest
    bracket = re.match(r"^\s*[【\[](?P<head>[^】\]]{1,20})[】\]](?P<rest>.*)$", line)
    if bracket:
        yield bracket["head"], bracket["rest"]


def heading_section(text: str) -> Section | None:
    """The section ``text`` is the heading of (numbering and decoration ignored), or None."""
    text = _NUMBERING_RE.sub("", text.strip())
    if not text or len(text) > MAX_HEADING_CHARS or re.search(r"[\d@]", text):
        return None
    cjk = "".join(CJK_RE.findall(text))
    latin = _heading_key(CJK_RE.sub("", text))
    found = [_HEADING_INDEX.get(part) for part in (cjk, latin) if part]
    if not found or None in found:
        return None
    return found[0]


_HEADING_INDEX = _heading_index()
_WEAK_HEADINGS = frozenset(_heading_key(title) for title in word_list(_HEADING_FILE, "weak"))
_LIST_ITEM_RE = re.compile(r"^(?:[•*·>]|[-–]\s)")


# --------------------------------------------------------------------------- sources


def source_of(text: str) -> str:
    """The ``source`` kept for a value found in ``text``: trimmed, at most
    :data:`MAX_SOURCE_CHARS` characters."""
    text = text.strip()
    return text if len(text) <= MAX_SOURCE_CHARS else text[: MAX_SOURCE_CHARS - 1] + "…"
