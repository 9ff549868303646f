"""Content metrics of one answer: rubric key-point coverage and structure markers.

Pure lexical matching, no model. Text and keywords go through the same normalisation:
NFKD with accents dropped, lower case, punctuation (ASCII and full-width) treated as a
separator; every CJK character is one token, every Latin/digit run is one token with
British spellings mapped to American ones (``-ise``→``-ize``, ``-our``→``-or``,
``-yse``→``-yze``, ``-tre``→``-ter``) and a light stemmer (plural ``s``/``es``/``ies``, ``-ing``, ``-ed``,
``-ly``, final ``e``), so "coordinating", "coordinated" and "coordinate" are one token.
A phrase matches where its tokens occur contiguously in the transcript.

A rubric point is covered when any of its keywords (both languages: candidates may answer
in the other language or mix) or a variant of one (:data:`VARIANT_GROUPS`, also applied to
parts of multi-word keywords) matches; a point without keywords is covered when at least
:data:`CONTENT_WORD_SHARE` of its text's content words (English: stems minus stop words;
Chinese: jieba words of two or more characters, not made of function characters only) occur
in the answer.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from analyzers.events import ContentMetrics
from analyzers.text import zh_words
from common.text import CJK_RANGES, is_cjk, zh_or_en

CONTENT_WORD_SHARE = 0.4
"""Share (0..1) of a keyword-less point's content words that covers it."""
MAX_MATCHES_PER_POINT = 3
"""Evidence phrases reported per covered point, earliest first."""

VARIANT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("the public", "resident", "citizen", "member of the public", "local people"),
    ("群众", "居民", "老百姓", "百姓", "市民", "民众"),
    ("elderly", "older people", "old people", "senior", "elderly people", "the aged"),
    ("老年人", "老人", "长者", "老年群体"),
    ("superior", "supervisor", "boss", "manager", "line manager"),
    ("上级", "领导", "主管"),
    ("contingency plan", "emergency plan", "response plan", "emergency response plan"),
    ("应急预案", "预案", "应急方案"),
    ("调研", "调查"),
    ("investigate", "look into", "probe"),
    ("survey", "questionnaire", "poll"),
    ("immediately", "right away", "straight away", "at once", "as soon as possible", "asap"),
    ("第一时间", "立即", "马上", "立刻"),
    ("evacuate", "relocate", "move people out", "get people out"),
    ("转移", "撤离", "疏散"),
    ("verify", "confirm", "double check", "fact check"),
    ("核实", "核查", "查证"),
    ("apologize", "say sorry", "make an apology"),
    ("道歉", "致歉"),
    ("coordinate", "cooperate", "collaborate", "work together"),
    ("沟通", "交流"),
    ("汇报", "报告", "上报"),
    ("colleague", "coworker", "co worker", "teammate"),
    ("customer", "client"),
)
"""Phrases treated as equivalent when matching keywords (normalised before use)."""

_TOKEN_RE = re.compile(f"[{CJK_RANGES}]|[a-z0-9]+")
_SPELLING_RE = (
    (re.compile(r"^([a-z]{3,})is(e|ed|es|ing|ation|ations|er|ers)$"), r"\1iz\2"),
    (re.compile(r"^([a-z]{3,})ys(e|ed|es|ing|er|ers)$"), r"\1yz\2"),
    (re.compile(r"^([a-z]{2,}[bcdfghilmnprstv])our(s|ed|ing|able)?$"), r"\1or\2"),
    (re.compile(r"^([a-z]{3,})tre(s)?$"), r"\1ter\2"),
)
_SPELLING_WORDS = {
    "licence": "license",
    "licences": "licenses",
    "programme": "program",
    "programmes": "programs",
    "judgement": "judgment",
    "defence": "defense",
    "ageing": "aging",
}
_EN_STOP = frozenset(
    """a an the and or but if then than so of to in on at by for with from as into onto
    about over under after before during while is are was were be been being am do does did
    have has had will would can could should may might must shall not no nor it its this that
    these those there their they them he she his her we our us you your i me my e g eg etc
    who whom which what when where why how all any each both such own same other more most
    very just also only too up down out off again further once""".split()
)
_ZH_STOP_CHARS = frozenset("的了和与及或是在对把被将也都而并等其之以于为中上下个这那有要能会如")

# Structure markers: (name, English regex on lower-cased text, Chinese regex).
_ZH_CLAUSE_START = r"(?:^|(?<=[，,、。.…？?！!；;：:\s]))"
_STRUCTURE: tuple[tuple[str, str, str], ...] = (
    ("situation", r"\b(?:situation|background|context)s?\b", r"背景|当时的情况"),
    ("task", r"\b(?:tasks?|my role|responsible for|objectives?)\b", r"任务|职责"),
    (
        "action",
        r"\b(?:actions?|measures?|steps?|what i did|approach(?:es)?)\b",
        r"措施|做法|行动|采取",
    ),
    ("result", r"\b(?:results?|outcomes?|in the end)\b", r"结果|成效|效果|成果"),
    (
        "first",
        r"\b(?:firstly|first of all)\b",
        r"首先|第一(?!时间|次|名|线|手|印象)|(?<![统唯同单专万逐划均整])一是",
    ),
    ("second", r"\bsecondly\b", r"其次|第二(?!次|名|天)|(?<!不)二是"),
    ("third", r"\bthirdly\b", _ZH_CLAUSE_START + r"再次|第三(?!次|名|方|天)|三是"),
    ("finally", r"\b(?:finally|lastly|last but not least)\b", r"最后"),
    (
        "conclusion",
        r"\b(?:in summary|to sum up|in conclusion|to conclude|all in all|in short)\b",
        r"总之|综上|总的来说|总而言之|总结一下",
    ),
)
_STRUCTURE_RE = tuple((name, re.compile(en), re.compile(zh)) for name, en, zh in _STRUCTURE)
_BARE_ORDINALS = {"first": "first", "second": "second", "third": "third"}
"""Counted unless preceded by a word in :data:`_ORDINAL_BLOCKERS` ("the first time")."""
_ORDINAL_BLOCKERS = frozenset(
    {"the", "a", "an", "my", "this", "that", "his", "her", "their", "our", "its", "at", "your"}
)


@dataclass(frozen=True, slots=True)
class _Tokens:
    """Normalised tokens of a text and each token's span in the original text."""

    text: str
    tokens: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    index: dict[str, tuple[int, ...]]
    """Token -> positions where it occurs."""

    def find(self, phrase: Sequence[str]) -> list[int]:
        """Start positions where ``phrase`` occurs contiguously."""
        if not phrase:
            return []
        n = len(phrase)
        return [
            i
            for i in self.index.get(phrase[0], ())
            if tuple(self.tokens[i : i + n]) == tuple(phrase)
        ]

    def original(self, start: int, length: int) -> str:
        """The transcript text covered by tokens ``start .. start+length-1``."""
        return self.text[self.spans[start][0] : self.spans[start + length - 1][1]]


def stem(word: str) -> str:
    """Light English stemmer for matching (not linguistics): see the module docstring."""
    w = _SPELLING_WORDS.get(word, word)
    for pattern, repl in _SPELLING_RE:
        w = pattern.sub(repl, w)
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith(("ies", "ied")) and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    elif w.endswith("ing") and len(w) >= 6:
        w = _undouble(w[:-3])
    elif w.endswith("eed") and len(w) >= 6:
        w = w[:-1]  # agreed -> agree
    elif w.endswith("ed") and len(w) >= 5:
        w = _undouble(w[:-2])
    elif w.endswith("ly") and len(w) >= 6 and not w.endswith("pply"):
        w = w[:-2]
    if len(w) >= 4 and w.endswith("e"):
        w = w[:-1]
    return w


def _undouble(w: str) -> str:
    if len(w) >= 3 and w[-1] == w[-2] and w[-1] not in "aeiouylsfz":
        return w[:-1]
    return w


def _normalise_chars(text: str) -> tuple[str, list[int]]:
    """Lower-cased, accent-free text and, per character, its index in ``text``."""
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        decomposed = unicodedata.normalize("NFKD", ch)
        for c in decomposed.lower():
            if unicodedata.combining(c):
                continue
            out.append(c)
            origin.append(i)
    return "".join(out), origin


def tokenize(text: str) -> _Tokens:
    """Normalise ``text`` into matching tokens (see the module docstring)."""
    norm, origin = _normalise_chars(text)
    tokens: list[str] = []
    spans: list[tuple[int, int]] = []
    index: dict[str, list[int]] = {}
    for m in _TOKEN_RE.finditer(norm):
        token = stem(m.group()) if m.group()[0].isascii() else m.group()
        index.setdefault(token, []).append(len(tokens))
        tokens.append(token)
        spans.append((origin[m.start()], origin[m.end() - 1] + 1))
    return _Tokens(
        text=text,
        tokens=tuple(tokens),
        spans=tuple(spans),
        index={k: tuple(v) for k, v in index.items()},
    )


@functools.lru_cache(maxsize=4096)
def _phrase(text: str) -> tuple[str, ...]:
    return tokenize(text).tokens


_VARIANTS: tuple[tuple[tuple[str, ...], ...], ...] = tuple(
    tuple(p for p in (_phrase(v) for v in group) if p) for group in VARIANT_GROUPS
)


@functools.lru_cache(maxsize=4096)
def _with_variants(keyword: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    """``keyword`` plus the phrases obtained by swapping one variant-group member in it."""
    out = {keyword}
    n = len(keyword)
    for group in _VARIANTS:
        for member in group:
            m = len(member)
            for i in range(n - m + 1):
                if keyword[i : i + m] == member:
                    out.update(keyword[:i] + other + keyword[i + m :] for other in group)
    return frozenset(out)


def keywords_for(question: dict[str, Any]) -> list[list[str]]:
    """Per rubric point, its own keywords in all languages (zh first), deduplicated.

    Variants from :data:`VARIANT_GROUPS` are added at match time, not here.
    """
    out: list[list[str]] = []
    for point in question.get("rubric") or ():
        keywords = (point.get("keywords") or {}) if isinstance(point, dict) else {}
        ordered = sorted(keywords, key=lambda lang: (lang != "zh", lang))
        seen: dict[str, None] = {}
        for lang in ordered:
            for kw in keywords.get(lang) or ():
                kw = str(kw).strip()
                if kw:
                    seen.setdefault(kw, None)
        out.append(list(seen))
    return out


def _content_terms(text: str) -> set[tuple[str, ...]]:
    """Content words of a rubric point text: English stems without stop words, and Chinese
    words (jieba) of two or more characters that are not all function characters."""
    toks = tokenize(text).tokens
    terms: set[tuple[str, ...]] = set()
    if any(is_cjk(t) for t in toks):
        for word in zh_words(text):
            chars = tuple(tokenize(word).tokens)
            if len(chars) >= 2 and all(map(is_cjk, chars)) and not set(chars) <= _ZH_STOP_CHARS:
                terms.add(chars)
    for tok in toks:
        if not is_cjk(tok) and tok not in _EN_STOP and not tok.isdigit() and len(tok) > 1:
            terms.add((tok,))
    return terms


def _point_texts(point: dict[str, Any], language: str) -> list[str]:
    first = zh_or_en(language)
    langs = [first] + [k for k in ("zh", "en") if k != first]
    return [str(point[k]) for k in langs if point.get(k)]


def _match_point(
    tokens: _Tokens, point: dict[str, Any], keywords: Iterable[str], language: str
) -> list[tuple[int, str]]:
    """(position, phrase as in the transcript) evidence for one point; empty if not covered."""
    phrases: set[tuple[str, ...]] = set()
    for kw in keywords:
        p = _phrase(kw)
        if p:
            phrases |= _with_variants(p)
    if phrases:
        hits: dict[int, tuple[int, str]] = {}
        for p in phrases:
            for start in tokens.find(p):
                # Keep the longest phrase starting at a position.
                if start not in hits or len(p) > hits[start][0]:
                    hits[start] = (len(p), tokens.original(start, len(p)))
        out: list[tuple[int, str]] = []
        end = 0
        for pos, (length, text) in sorted(hits.items()):
            if pos >= end:  # skip hits nested in an earlier, longer one
                out.append((pos, text))
                end = pos + length
        return out
    for text in _point_texts(point, language):
        terms = _content_terms(text)
        if not terms:
            continue
        found = sorted((starts[0], term) for term in terms if (starts := tokens.find(term)))
        if len(found) >= CONTENT_WORD_SHARE * len(terms):
            return [(pos, tokens.original(pos, len(term))) for pos, term in found]
    return []


def structure_markers(transcript: str) -> tuple[str, ...]:
    """Names of the structure markers found, in a fixed order (situation ... conclusion).

    English ordinals count as bare words too ("first, we ...") unless a determiner
    precedes them ("the first time", "a second"); ``第一时间``/``第一次`` are not ordinals.
    """
    text = " ".join(unicodedata.normalize("NFKC", transcript).lower().split())
    found = {name for name, en, zh in _STRUCTURE_RE if en.search(text) or zh.search(text)}
    words = re.findall(r"[a-z]+", text)
    for i, word in enumerate(words):
        name = _BARE_ORDINALS.get(word)
        if name and (i == 0 or words[i - 1] not in _ORDINAL_BLOCKERS):
            found.add(name)
    return tuple(name for name, _, _ in _STRUCTURE if name in found)


def count_words(text: str) -> int:
    """English (Latin/digit) words plus CJK characters."""
    return len(tokenize(text).tokens)


def analyze_answer(
    question: dict[str, Any],
    transcript: str,
    *,
    language: str,
    time_used_s: float,
    interview_id: str,
    t: float,
    question_index: int | None,
) -> ContentMetrics:
    """Coverage of ``question``'s rubric points (``Question.to_dict()`` shape) by the answer.

    ``language`` ("zh"/"en") only decides which point text is tried first for points
    without keywords; keywords of every language are always matched.
    """
    tokens = tokenize(transcript)
    rubric = [p for p in question.get("rubric") or () if isinstance(p, dict)]
    all_keywords = keywords_for({"rubric": rubric})
    covered: list[int] = []
    matches: list[tuple[int, str]] = []
    for index, (point, keywords) in enumerate(zip(rubric, all_keywords, strict=True)):
        evidence = _match_point(tokens, point, keywords, language) if tokens.tokens else []
        if evidence:
            covered.append(index)
            seen: set[str] = set()
            for _, phrase in evidence:
                if phrase not in seen and len(seen) < MAX_MATCHES_PER_POINT:
                    seen.add(phrase)
                    matches.append((index, phrase))
    return ContentMetrics(
        interview_id=interview_id,
        t=t,
        question_index=question_index,
        coverage=len(covered) / len(rubric) if rubric else 0.0,
        covered=tuple(covered),
        matches=tuple(matches),
        structure=structure_markers(transcript),
        words=len(tokens.tokens),
        time_used_s=float(time_used_s),
        time_limit_s=float(question.get("answer_s") or 0.0),
    )
