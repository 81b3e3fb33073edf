"""Text rules for the plan that the LINE views and the public web pages share, so both say the same thing.

- Long text is split only after 。 (never mid-sentence); the short goal keeps whole sentences from the start.
- "This year" is said as 今年度は令和8年度（2026年度）, never as nested brackets.
- A roadmap item is tagged 「（令和9年度から）」 only when its span really starts in that year; the year is named,
  never "this year", which would read as 今年度 under a 来年度 heading.
- Abbreviations get a 用語 note from the city's glossary where they first appear unexplained.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from bot.fiscal import fy_label

PARA_CHARS = 120          # a bullet longer than this is broken into sentence-sized paragraphs
BUBBLE_CHARS = 260        # characters of running text per bubble before it is continued on the next
EXCERPT_CHARS = 100       # the short goal: further sentences are added while the total stays within this
STARTS = "（{year}から）"
ELLIPSIS = "…"

_SENTENCE = re.compile(r"[^。]*(?:。|$)")


# -- sentences --------------------------------------------------------------------------------------------------

def sentences(s: str) -> list[str]:
    """Split after each 。 (a closing bracket right after 。 stays with its sentence)."""
    out: list[str] = []
    for line in s.splitlines():
        parts = [p for p in _SENTENCE.findall(line.strip()) if p]
        for p in parts:
            if out and p[0] in "」）』)" and out[-1].endswith("。"):
                out[-1] += p[0]
                p = p[1:]
            if p.strip():
                out.append(p.strip())
    return out


def paragraphs(bullets: Iterable[str], limit: int = PARA_CHARS) -> list[tuple[bool, str]]:
    """Bullets as readable paragraphs: (starts a bullet?, text); long bullets broken between sentences."""
    out: list[tuple[bool, str]] = []
    for bullet in bullets:
        first, current = True, ""
        for sent in sentences(bullet):
            if current and len(current) + len(sent) > limit:
                out.append((first, current))
                first, current = False, sent
            else:
                current += sent
        if current:
            out.append((first, current))
    return out


def pages_by_chars(paras: list[tuple[bool, str]], budget: int = BUBBLE_CHARS) -> list[list[tuple[bool, str]]]:
    """Paragraphs packed into bubbles of about `budget` characters; a paragraph is never split."""
    pages: list[list[tuple[bool, str]]] = []
    current: list[tuple[bool, str]] = []
    size = 0
    for para in paras:
        if current and size + len(para[1]) > budget:
            pages.append(current)
            current, size = [], 0
        current.append(para)
        size += len(para[1])
    if current:
        pages.append(current)
    return pages


def excerpt(goal: str, limit: int = EXCERPT_CHARS) -> str:
    """A short form of 目指す姿 that reads from its start: the first sentence whole, then further sentences
    while the total stays within `limit`; … marks that more follows (the full text is one tap away).

    The first sentence is kept whole even when it is longer than `limit`: the reader gets its subject and
    its predicate, never a fragment cut from either end.
    """
    sents = sentences(goal)
    if not sents:
        return ""
    out = sents[0]
    kept = 1
    for s in sents[1:]:
        if len(out) + len(s) > limit:
            break
        out += s
        kept += 1
    return out + (ELLIPSIS if kept < len(sents) else "")


# -- years ------------------------------------------------------------------------------------------------------

def this_year_phrase(fy: int) -> str:
    """`今年度は令和8年度（2026年度）`: the year's own brackets are the only ones."""
    return f"今年度は{fy_label(fy)}"


def starts_in(item, fy: int, plan_start: int | None) -> bool:
    """Does this roadmap span really start in `fy`?

    The plan's first year is where every table row begins, including work that was already under way
    (the city's 線表 has no column before it), so a span that opens with the plan is not "new". After that,
    a span whose first year is `fy` starts then.
    """
    return item.from_fy == fy and (plan_start is None or fy > plan_start)


def starts_year(fy: int) -> str:
    """`令和9年度`: the label without its Gregorian bracket, so it can sit inside a bracket of its own."""
    return fy_label(fy).partition("（")[0]


def starts_suffix(item, fy: int, plan_start: int | None) -> str:
    return STARTS.format(year=starts_year(fy)) if starts_in(item, fy, plan_start) else ""


# -- glossary ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Gloss:
    term: str
    gloss: str

    @property
    def line(self) -> str:
        return f"{self.term}：{self.gloss}"


def _pattern(term: str) -> re.Pattern:
    # Latin abbreviations count only as whole tokens (AI is not inside MAIN); other terms as substrings.
    if re.fullmatch(r"[A-Za-z0-9]+", term):
        return re.compile(rf"(?<![A-Za-z]){re.escape(term)}(?![A-Za-z])")
    return re.compile(re.escape(term))


class Glossary:
    """The city's confirmed glosses (cities/<city>/glossary.yaml, loaded into plan_glossary)."""

    def __init__(self, entries: Iterable[tuple[str, str]] = ()) -> None:
        self.entries = [(Gloss(t, g), _pattern(t)) for t, g in entries if t and g]

    def __bool__(self) -> bool:
        return bool(self.entries)

    def tracker(self) -> "GlossTracker":
        return GlossTracker(self)


class GlossTracker:
    """One view's reading order: each abbreviation is explained once, where it first appears.

    Call `notes(texts)` for each block of the view in the order it is shown; it returns the glosses for
    terms that first appear in that block, leaving out a term whose first appearance already explains it
    (「エディブル・スクールヤード（ESY）」).
    """

    def __init__(self, glossary: Glossary) -> None:
        self.glossary = glossary
        self.seen: set[str] = set()

    def notes(self, texts: Iterable[str]) -> list[Gloss]:
        out: list[Gloss] = []
        blocks = [t for t in texts if t]
        for gloss, pattern in self.glossary.entries:
            if gloss.term in self.seen:
                continue
            for t in blocks:
                m = pattern.search(t)
                if m is None:
                    continue
                self.seen.add(gloss.term)
                if not _explained_in_place(t, m.start(), m.end()):
                    out.append(gloss)
                break
        return sorted(out, key=lambda g: _first_position(blocks, g.term))


def _explained_in_place(text: str, start: int, end: int) -> bool:
    """「…（ESY）」: the abbreviation stands in brackets right after the words it abbreviates."""
    return start > 1 and text[start - 1] in "（(" and end < len(text) and text[end] in "）)"


def _first_position(blocks: list[str], term: str) -> tuple[int, int]:
    pattern = _pattern(term)
    for i, t in enumerate(blocks):
        m = pattern.search(t)
        if m:
            return i, m.start()
    return len(blocks), 0
