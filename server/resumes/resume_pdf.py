"""PDF pages to text, read column by column when a page has a side column.

pypdf gives text in content-stream order. A template with a side column (contact, skills,
certificates beside the main column) often draws both columns row by row, so the side
column's lines come out between the main column's. The runs of text and their positions say
where a second column starts: many runs start at the same x, and no run of those rows crosses
that x. Such a page is read column by column, left column first. A page without columns keeps
pypdf's text, a wide gap between two runs of a row made the field separator `` | ``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pypdf import PageObject

MIN_COLUMN_ROWS = 6
"""Rows of text (two letters or digits at least: a bullet glyph is none) each column needs
before a page is read column by column."""

MIN_COLUMN_SHARE = 0.3
"""Share of the page's rows the columns must cover (a small table is read row by row)."""

MAX_DATED_SHARE = 0.6
"""Share of rows holding a year above which the two "columns" are the fields of dated rows
(a job table, right-aligned dates): those are read row by row."""

GRID_ROW_SHARE = 0.8
"""Share of right-hand rows sharing a baseline with left-hand text that makes a grid."""

MIN_GRID_COLUMN_ROWS = 10
"""Rows each side of a grid needs to be read as two columns (a template drawing both columns
on the same baselines); a smaller one is a table, or headings in a margin beside their
sections."""

MIN_ROW_CHARS = 2
"""Letters or digits that make a side of a row count as text."""

COLUMN_ALIGN_PT = 3.0
"""Runs starting less than this many points apart start at the same x."""

ROW_TOLERANCE_EM = 0.5
"""Runs whose baselines differ by less than this share of the font size are one row."""

WIDE_CHAR_EM = 1.0
"""Estimated advance of a CJK (wide) character, in font sizes."""

NARROW_CHAR_EM = 0.5
"""Estimated advance of any other character, in font sizes (Latin text averages about it)."""

FIELD_GAP_EM = 2.0
"""A gap (in font sizes) between two runs of one row that makes them two fields (`` | ``)."""

MAX_PAGE_RUNS = 5_000
"""Runs on a page above which no columns are looked for (bounds the work)."""

MAX_COLUMN_CANDIDATES = 8
"""x positions tried as the left edge of a second column."""

_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")


def page_text(page: PageObject) -> str:
    """The text of one page: column by column (:func:`_column_text`), else as pypdf wrote it
    with wide gaps made `` | `` (:func:`_gapped_text`)."""
    runs = _RunCollector()
    text = page.extract_text(visitor_text=runs) or ""
    return _column_text(runs) or _gapped_text(runs, text)


class _Run:
    """One run of text as pypdf reports it: baseline start (x, y) in points, font size."""

    __slots__ = ("size", "text", "x", "y")

    def __init__(self, x: float, y: float, size: float, text: str) -> None:
        self.x, self.y, self.size, self.text = x, y, size, text

    @property
    def end(self) -> float:
        """Estimated x where the run ends (fonts' real widths are not needed to see a gutter)."""
        ems = sum(WIDE_CHAR_EM if _is_wide(ch) else NARROW_CHAR_EM for ch in self.text)
        return self.x + ems * self.size


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


class _RunCollector:
    """pypdf ``visitor_text`` callback collecting the page's runs; gives up (``usable`` False)
    on rotated or mirrored text and on more than :data:`MAX_PAGE_RUNS` runs. ``pieces`` are
    the texts pypdf reported, in order, each with its run (None for white space): joined, they
    are the page's text."""

    def __init__(self) -> None:
        self.runs: list[_Run] = []
        self.pieces: list[tuple[str, _Run | None]] = []
        self.usable = True

    def __call__(self, text: Any, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if not self.usable or not isinstance(text, str):
            return
        if not text.strip():
            self.pieces.append((text, None))
            return
        try:
            matrix = _multiply([float(v) for v in tm], [float(v) for v in cm])
            em = float(size) * matrix[0]
        except (TypeError, ValueError):
            self.usable = False
            return
        a, b, c, d, e, f = matrix
        upright = abs(b) < 1e-6 and abs(c) < 1e-6 and a > 0 and d > 0
        if not (upright and all(map(math.isfinite, (e, f, em)))) or len(self.runs) >= MAX_PAGE_RUNS:
            self.usable = False
            return
        self.runs.append(_Run(e, f, em, " ".join(text.split())))
        self.pieces.append((text, self.runs[-1]))


def _multiply(m: list[float], n: list[float]) -> tuple[float, ...]:
    """The affine matrix ``m × n`` (PDF order ``[a b c d e f]``)."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s, e * p + f * r + t,
            e * q + f * s + u)  # fmt: skip


def _column_text(collector: _RunCollector) -> str | None:
    """The page's text read column by column, or None when it has no two columns."""
    if not collector.usable or not collector.runs:
        return None
    rows = _rows(collector.runs)
    best: tuple[int, float, list[tuple[int, int]]] | None = None
    for edge in _column_edges(collector.runs):
        bands = [band for band in _bands(rows, edge) if _is_column_band(rows, band, edge)]
        covered = sum(stop - start for start, stop in bands)
        if (
            bands
            and covered >= MIN_COLUMN_SHARE * len(rows)
            and (best is None or covered > best[0])
        ):
            best = (covered, edge, bands)
    if best is None:
        return None
    _, edge, bands = best
    lines: list[str] = []
    done = 0
    for start, stop in bands:
        lines += [_row_text(row) for row in rows[done:start]]
        left = [[run for run in row if run.x < edge - COLUMN_ALIGN_PT] for row in rows[start:stop]]
        right = [
            [run for run in row if run.x >= edge - COLUMN_ALIGN_PT] for row in rows[start:stop]
        ]
        lines += [_row_text(row) for row in left + right if row]
        done = stop
    lines += [_row_text(row) for row in rows[done:]]
    return "\n".join(lines)


def _gapped_text(collector: _RunCollector, text: str) -> str:
    """pypdf's text of a page without columns, the space it wrote between two runs of one row
    far apart (:data:`FIELD_GAP_EM`, as :func:`_row_text` does) made `` | ``: a row of fields
    (``2019.07-至今 | 某某公司 | 运营经理``). The text as pypdf wrote it when its pieces do not
    add up to it."""
    if not collector.usable or "".join(piece for piece, _ in collector.pieces) != text:
        return text
    out: list[str] = []
    tail = ""  # white space written since the last run
    previous: _Run | None = None
    for piece, run in collector.pieces:
        if run is None:
            out.append(piece)
            tail += piece
            continue
        body = piece.lstrip()
        gap = tail + piece[: len(piece) - len(body)]
        if previous is not None and gap and "\n" not in gap and _is_field_gap(previous, run):
            while out and not out[-1].strip():
                out.pop()
            out[-1] = out[-1].rstrip()
            piece = " | " + body
        out.append(piece)
        tail = piece[len(piece.rstrip()) :]
        previous = None if "\n" in piece else run
    return "".join(out)


def _is_field_gap(previous: _Run, run: _Run) -> bool:
    size = max(run.size, previous.size)
    same_row = abs(previous.y - run.y) < ROW_TOLERANCE_EM * size
    return same_row and run.x - previous.end >= FIELD_GAP_EM * size


def _rows(runs: list[_Run]) -> list[list[_Run]]:
    """Runs grouped by baseline, top row first, each row left to right."""
    rows: list[list[_Run]] = []
    for run in sorted(runs, key=lambda r: (-r.y, r.x)):
        if rows and rows[-1][0].y - run.y < ROW_TOLERANCE_EM * max(run.size, rows[-1][0].size):
            rows[-1].append(run)
        else:
            rows.append([run])
    return [sorted(row, key=lambda r: r.x) for row in rows]


def _column_edges(runs: list[_Run]) -> list[float]:
    """x positions where at least :data:`MIN_COLUMN_ROWS` runs start, the page's left margin
    excepted, most used first."""
    xs = sorted(run.x for run in runs)
    clusters: list[tuple[float, int]] = []
    for x in xs:
        if clusters and x - clusters[-1][0] <= COLUMN_ALIGN_PT:
            clusters[-1] = (clusters[-1][0], clusters[-1][1] + 1)
        else:
            clusters.append((x, 1))
    edges = [(count, x) for x, count in clusters[1:] if count >= MIN_COLUMN_ROWS]
    return [x for _, x in sorted(edges, reverse=True)[:MAX_COLUMN_CANDIDATES]]


def _bands(rows: list[list[_Run]], edge: float) -> list[tuple[int, int]]:
    """Stretches of consecutive rows, as ``(start, stop)``, in which no run crosses ``edge``."""
    bands: list[tuple[int, int]] = []
    start = 0
    for i, row in enumerate(rows):
        if any(run.x < edge - COLUMN_ALIGN_PT and run.end > edge for run in row):
            if i > start:
                bands.append((start, i))
            start = i + 1
    if len(rows) > start:
        bands.append((start, len(rows)))
    return bands


def _is_column_band(rows: list[list[_Run]], band: tuple[int, int], edge: float) -> bool:
    """Two columns: enough rows of text on each side of ``edge``, the right side starting at
    it; not the fields of dated rows; not a small grid (nearly every row of the shorter side on
    the baseline of the other side's text, fewer than :data:`MIN_GRID_COLUMN_ROWS` rows:
    ``姓名：… 性别：…``, headings in a margin), which reads well row by row."""
    left: list[str] = []
    right: list[str] = []
    both_left: list[str] = []
    aligned = 0
    for row in rows[band[0] : band[1]]:
        before = " ".join(run.text for run in row if run.x < edge - COLUMN_ALIGN_PT)
        after = [run for run in row if run.x >= edge - COLUMN_ALIGN_PT]
        after_text = " ".join(run.text for run in after)
        if _is_text(before):
            left.append(before)
        if _is_text(after_text):
            right.append(after_text)
            aligned += after[0].x <= edge + COLUMN_ALIGN_PT
            if _is_text(before):
                both_left.append(before)
    shorter = min(len(left), len(right))
    if shorter < MIN_COLUMN_ROWS or aligned < MIN_COLUMN_ROWS:
        return False
    if len(both_left) >= GRID_ROW_SHARE * shorter and shorter < MIN_GRID_COLUMN_ROWS:
        return False
    return _dated_share(right) <= MAX_DATED_SHARE and _dated_share(both_left) <= MAX_DATED_SHARE


def _is_text(text: str) -> bool:
    return sum(1 for ch in text if ch.isalnum()) >= MIN_ROW_CHARS


def _dated_share(texts: list[str]) -> float:
    return sum(1 for text in texts if _YEAR_RE.search(text)) / len(texts) if texts else 0.0


def _row_text(row: list[_Run]) -> str:
    """The row's runs left to right: a space between close runs, `` | `` across a wide gap."""
    out = row[0].text
    for previous, run in zip(row, row[1:], strict=False):
        wide = run.x - previous.end >= FIELD_GAP_EM * max(run.size, previous.size)
        out += (" | " if wide else " ") + run.text
    return out
