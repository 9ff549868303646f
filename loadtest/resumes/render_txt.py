"""Blocks as a plain-text résumé."""

from __future__ import annotations

from loadtest.resumes.blocks import Block
from loadtest.resumes.layouts import Layout


def txt(blocks: list[Block], layout: Layout) -> str:
    """The résumé as text with ``\n`` line ends (the caller applies the layout's)."""
    zh = layout.lang == "zh"
    out: list[str] = []
    for b in blocks:
        kind = b[0]
        if kind in {"title", "name", "line"}:
            out.append(b[1])
        elif kind == "heading":
            out.append("")
            out.extend(_txt_heading(b[1], layout.deco, zh))
        elif kind == "para":
            out.append(b[1])
        elif kind == "entry":
            _, left, right, sub, bullets = b
            if layout.deco == "markdown":
                out.append(f"### {left}" + (f" ({right})" if right else ""))
            else:
                out.append(left + (f"    {right}" if right else ""))
            out.extend(sub)
            out.extend(f"{layout.bullet} {d}" for d in bullets)
            if layout.deco in {"equals", "markdown", "underline"}:
                out.append("")
        elif kind == "bullets":
            out.extend(f"{b[2]} {item}" for item in b[1])
        elif kind == "table":
            out.extend("\t".join(cell.replace("\n", " ") for cell in row) for row in b[1])
        else:
            raise ValueError(kind)
    return "\n".join(out).rstrip() + "\n"


def _txt_heading(word: str, deco: str, zh: bool) -> list[str]:
    if deco == "bracket":
        return [f"【{word}】"]
    if deco == "equals":
        return [f"===== {word} ====="]
    if deco == "upper":
        return [word.upper()]
    if deco == "underline":
        return [word, "-" * len(word)]
    if deco == "markdown":
        return [f"## {word}"]
    return [word]
