"""Numbers in a resident's message: which project, which action, which fiscal year.

Residents write a project as プロジェクト3, 3番のプロジェクト, 3番目, 三番目, 第三, プロジェクト七, ３ (full width),
an action as 101, アクション101, 101番, 百一, and a year as 2026年, 令和8年度, 来年度. `parse` reads them all into
one `Numbers`; handlers/nlu.py turns them into cues (it decides whether the plan has that number).
Kanji numerals are read only next to a number word (番, 第, プロジェクト, 年...), so 一人暮らし, 三の丸 and 十字 stay words.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import jaconv

_DIGIT = {"〇": 0, "零": 0, "一": 1, "壱": 1, "二": 2, "弐": 2, "三": 3, "参": 3, "四": 4, "五": 5, "六": 6, "七": 7,
          "八": 8, "九": 9}
_POWER = {"十": 10, "百": 100, "千": 1000}
_KNUM = "〇零一壱二弐三参四五六七八九十百千"

# Units after which a number is a count or a measure, not a plan number (a year is read separately).
UNITS = ("年", "円", "人", "歳", "才", "件", "回", "時", "分", "秒", "日", "月", "号", "個", "枚", "本", "台", "階", "番地",
         "丁目", "m", "km", "g", "kg", "万", "億", "千", "百", "度", "点", "ページ", "p", "系統", "つ", "名", "%", "か月",
         "ヶ月", "カ月", "週")
PROJECT_WORDS = r"(?:協働)?(?:プロジェクト|project|pj|ぷろじぇくと)"
ACTION_WORDS = r"(?:アクション|action|あくしょん)"


def kanji_number(s: str) -> int | None:
    """三 -> 3, 十二 -> 12, 百一 -> 101, 七〇二 -> 702, 二千二十六 -> 2026; None for anything else."""
    if not s or any(ch not in _KNUM for ch in s):
        return None
    if not any(ch in _POWER for ch in s):  # positional: 七〇二
        return int("".join(str(_DIGIT[ch]) for ch in s))
    total, digit = 0, None
    for ch in s:
        if ch in _DIGIT:
            digit = _DIGIT[ch]
        else:
            total += (1 if digit is None else digit) * _POWER[ch]
            digit = None
    return total + (digit or 0)


# Kanji numerals are converted only in these contexts (before/after).
_K_BEFORE = re.compile(rf"(第|{PROJECT_WORDS}|{ACTION_WORDS}|令和|平成|no\.?)\s*([{_KNUM}]+)(?![\u4e00-\u9fff々ヵヶ〇]|$)|"
                       rf"(第|{PROJECT_WORDS}|{ACTION_WORDS}|令和|平成|no\.?)\s*([{_KNUM}]+)(?=番|年|$)")
_K_AFTER = re.compile(rf"([{_KNUM}]+)\s*(?=番|年度|つ目|つめ|こ目)")


def _arabic(text: str) -> str:
    def before(m: re.Match) -> str:
        word, num = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(3), m.group(4))
        n = kanji_number(num)
        return word + (str(n) if n is not None else num)

    def after(m: re.Match) -> str:
        n = kanji_number(m.group(1))
        return str(n) if n is not None else m.group(1)

    return _K_AFTER.sub(after, _K_BEFORE.sub(before, text))


def prepare(text: str) -> str:
    """NFKC, lower case, katakana kept (half width folded), kanji numerals in number contexts as digits."""
    s = unicodedata.normalize("NFKC", text or "")[:1000].lower()
    s = jaconv.h2z(s, kana=True, ascii=False, digit=False)
    return _arabic(s)


@dataclass
class Numbers:
    projects: list[int] = field(default_factory=list)   # named as a project (プロジェクト3, 3番目)
    actions: list[int] = field(default_factory=list)    # 3-digit numbers (101, アクション101, 101番)
    years: list[int] = field(default_factory=list)      # fiscal years (2026 for 2026年 / 令和8年度)
    relative_years: list[int] = field(default_factory=list)  # 0 this year, 1 next year, 2 the year after

    def __bool__(self) -> bool:
        return bool(self.projects or self.actions or self.years or self.relative_years)


_P_AFTER = re.compile(rf"{PROJECT_WORDS}\s*(?:no\.?|番号|ナンバー|の|第)?\s*(\d{{1,3}})(?!\d)(?:\s*番目?)?")
_P_BEFORE = re.compile(rf"(?<!\d)(?:第\s*)?(\d{{1,2}})\s*(?:番目|番|つ目|つめ)?\s*の?\s*{PROJECT_WORDS}")
_P_FIRST = re.compile(r"第\s*(\d{1,2})(?!\d|期|回|号|条|次|章|回)")
_ORDINAL = re.compile(r"(?<!\d)(\d{1,2})\s*(?:番目|つ目|つめ|こ目)")
_BANGO = re.compile(r"(?<!\d)(\d{1,2})\s*番(?!地|線|目)")
_A_AFTER = re.compile(rf"{ACTION_WORDS}\s*(?:no\.?|番号|ナンバー|の)?\s*(\d{{1,4}})")
_THREE = re.compile(r"(?<![\d,:/])(?<!\d\.)(\d{3})(?![\d.,:/])")
_YEAR = re.compile(r"(?<!\d)(20\d\d)\s*(?:年|ねん)(度|ど)?")
# 令和8年度; older writers spell it in kana; in offices R8 (alone, or before の / a space) is the same year.
_REIWA = re.compile(r"(?:令和|れいわ|レイワ|r)\s*(\d{1,2})\s*(?:年|ねん)(度|ど)?|(?<![a-z0-9])r(\d{1,2})(?=の|\s|$)")
_RELATIVE = (("再来年", 2), ("さらいねん", 2), ("来年", 1), ("らいねん", 1), ("今年", 0), ("ことし", 0), ("こんねんど", 0),
             ("本年度", 0), ("今期", 0))


def parse(text: str) -> Numbers:
    """Every plan number and year in `text`."""
    s = prepare(text)
    out = Numbers()
    taken: list[tuple[int, int]] = []

    def free(m: re.Match, g: int = 1) -> bool:
        a, b = m.span(g)
        return not any(a < y and x < b for x, y in taken)

    def take(m: re.Match) -> None:
        taken.append(m.span())

    for rx in (_YEAR, _REIWA):
        for m in rx.finditer(s):
            n = int(m.group(1) or m.group(3))
            out.years.append(n if rx is _YEAR else 2018 + n)
            take(m)
    rest = s
    for word, delta in _RELATIVE:  # longest first: 再来年 is not also 来年
        if word in rest:
            rest = rest.replace(word, " ")
            if delta not in out.relative_years:
                out.relative_years.append(delta)
    for m in _A_AFTER.finditer(s):
        if free(m):
            out.actions.append(int(m.group(1)))
            take(m)
    for rx in (_P_AFTER, _P_BEFORE):
        for m in rx.finditer(s):
            if not free(m):
                continue
            n = int(m.group(1))
            (out.actions if n >= 100 else out.projects).append(n)
            take(m)
    for rx in (_P_FIRST, _ORDINAL, _BANGO):
        for m in rx.finditer(s):
            if free(m):
                n = int(m.group(1))
                if 0 < n < 100:
                    out.projects.append(n)
                    take(m)
    for m in _THREE.finditer(s):
        if not free(m):
            continue
        rest = s[m.end():].lstrip()
        if rest.startswith(UNITS) and not rest.startswith("番"):
            continue
        out.actions.append(int(m.group(1)))
        take(m)
    return out
