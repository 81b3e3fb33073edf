"""The rules of a survey, shared by the LINE side (handlers/surveys.py), the builder (bot/admin/views_surveys.py),
the results (bot/survey_results.py) and the samples: who may answer, the path through the questions (skip
rules), what an answer may be, how it reads, and which structures and edits are refused.

Pure functions over model objects (or anything with the same attributes); the only queries are in
`open_for` and `may_answer`.

Answers are stored as JSON values per question key: SINGLE an option index, MULTI a sorted list of indexes,
SCALE 1-5, NUMBER an int, TEXT a str, DATE "YYYY-MM-DD", DISTRICT a district key; None = an optional question
skipped. Skip rules go forward only (to a later question or to END), so no loop can exist, and the builder
refuses a structure in which some question can never be reached.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import TOKYO, utc
from bot.logsafe import keyed_hash
from models.surveys import (DATE, DISTRICT, END, KINDS, MULTI, NUMBER, OPEN, SCALE, SINGLE, TEXT, Survey,
                            SurveyQuestion)

SCALE_POINTS = 5
MAX_QUESTIONS = 30
MAX_OPTIONS = {SINGLE: 30, MULTI: 12}  # MULTI: toggles in one bubble with 次へ; SINGLE pages past 11
TEXT_LIMIT = 1000
DEFAULT_TEXT_LENGTH = 200
KIND_LABELS = {SINGLE: "ひとつ選ぶ", MULTI: "いくつでも選ぶ", SCALE: "5段階", NUMBER: "数", TEXT: "自由記述（短文）",
               DATE: "日付", DISTRICT: "地区"}
BRANCHING = (SINGLE, SCALE)  # kinds that may carry skip rules


# -- who answers ----------------------------------------------------------------------------------------------

def respondent_key(survey_id: int, line_user_id: str) -> str:
    """One resident's key for one survey: stops a second response without storing who answered."""
    return keyed_hash(f"survey:{survey_id}", line_user_id)


def is_live(survey: Survey, now: datetime) -> bool:
    """Open and inside its window: residents may answer now."""
    return survey.status == OPEN and utc(survey.opens_at) <= utc(now) < utc(survey.closes_at)


def may_answer(db: Session, survey: Survey, user_id: int) -> bool:
    from bot.segments import Segment, includes

    return includes(db, Segment.from_json(survey.segment or {}), user_id)


def open_for(db: Session, user_id: int, now: datetime) -> list[Survey]:
    """The live surveys this resident may answer, closing soonest first."""
    n = utc(now)
    rows = db.scalars(select(Survey).where(Survey.status == OPEN, Survey.opens_at <= n, Survey.closes_at > n)
                      .order_by(Survey.closes_at, Survey.id))
    return [s for s in rows if may_answer(db, s, user_id)]


# -- the path ---------------------------------------------------------------------------------------------------

def ordered(questions: Iterable[SurveyQuestion]) -> list[SurveyQuestion]:
    return sorted(questions, key=lambda q: (q.position, q.key))


def by_key(questions: Iterable[SurveyQuestion]) -> dict[str, SurveyQuestion]:
    return {q.key: q for q in questions}


def first_key(questions: Sequence[SurveyQuestion]) -> str:
    qs = ordered(questions)
    return qs[0].key if qs else END


def next_key(questions: Sequence[SurveyQuestion], key: str, value) -> str:
    """Where the answer `value` to question `key` leads: its skip rule, else the next question, else END."""
    qs = ordered(questions)
    keys = [q.key for q in qs]
    q = qs[keys.index(key)]
    if q.kind in BRANCHING and value is not None and (target := (q.branches or {}).get(str(value))):
        return target
    i = keys.index(key) + 1
    return keys[i] if i < len(keys) else END


def walk(questions: Sequence[SurveyQuestion], answers: dict) -> tuple[list[str], str]:
    """Follow the answers from the first question: (keys answered on the way, the first key not answered or
    END). Answers to questions off the path (a branch the resident left by going back) are not on it."""
    path: list[str] = []
    key = first_key(questions)
    while key != END and key in answers and len(path) <= MAX_QUESTIONS:
        path.append(key)
        key = next_key(questions, key, answers[key])
    return path, key


def kept_answers(questions: Sequence[SurveyQuestion], answers: dict) -> dict:
    """Only the answers on the path: what is submitted."""
    path, _ = walk(questions, answers)
    return {k: answers[k] for k in path}


def position_label(questions: Sequence[SurveyQuestion], key: str) -> str:
    """「3/8」: the question's number of the survey's length (skips may shorten the way)."""
    keys = [q.key for q in ordered(questions)]
    return f"{keys.index(key) + 1}/{len(keys)}"


# -- answers ------------------------------------------------------------------------------------------------------

def value_problem(q: SurveyQuestion, value, district_keys: Iterable[str] = ()) -> str | None:
    """Why a stored or tapped value cannot be an answer to `q` (None: it can)."""
    if value is None:
        return None if not q.required else "この質問は回答が必要です。"
    if q.kind == SINGLE:
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(q.options)
    elif q.kind == MULTI:
        ok = (isinstance(value, list) and all(isinstance(v, int) and 0 <= v < len(q.options) for v in value)
              and len(set(value)) == len(value))
        if ok and q.required and not value:
            return "ひとつ以上選んでください。"
        if ok and q.max_choices and len(value) > q.max_choices:
            return f"選べるのは{q.max_choices}つまでです。"
    elif q.kind == SCALE:
        ok = isinstance(value, int) and 1 <= value <= SCALE_POINTS
    elif q.kind == NUMBER:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and ((q.min_value is not None and value < q.min_value) or (q.max_value is not None and value > q.max_value)):
            return number_range_text(q)
    elif q.kind == TEXT:
        ok = isinstance(value, str) and bool(value.strip())
        if ok and len(value) > (q.max_length or DEFAULT_TEXT_LENGTH):
            return f"{q.max_length or DEFAULT_TEXT_LENGTH}文字以内でお願いします（いまは{len(value)}文字です）。"
    elif q.kind == DATE:
        ok = isinstance(value, str) and _iso_date(value) is not None
    elif q.kind == DISTRICT:
        ok = isinstance(value, str) and value in set(district_keys)
    else:
        ok = False
    return None if ok else "回答を読み取れませんでした。"


def number_range_text(q: SurveyQuestion) -> str:
    unit = q.unit or ""
    if q.min_value is not None and q.max_value is not None:
        return f"{q.min_value}{unit}から{q.max_value}{unit}までの数字で入力してください。"
    if q.min_value is not None:
        return f"{q.min_value}{unit}以上の数字で入力してください。"
    if q.max_value is not None:
        return f"{q.max_value}{unit}以下の数字で入力してください。"
    return "数字で入力してください。"


_DATE_FORMS = (re.compile(r"^(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})日?$"), re.compile(r"^(\d{1,2})[/月](\d{1,2})日?$"))
DATE_HINT = "「日付を選ぶ」のボタンから選ぶか、12/1 のように入力してください。"


def _iso_date(s: str) -> date | None:
    try:
        return date.fromisoformat(s)
    except ValueError:
        return None


def parse_typed(q: SurveyQuestion, text: str, districts: Sequence[tuple[str, str]] = (),
                today: date | None = None) -> tuple[object, str | None]:
    """A typed message as an answer to `q`: (value, None), or (None, what to say) when it is not one.
    `districts`: (key, name) pairs; `today`: for a date typed without its year (the next such day)."""
    s = unicodedata.normalize("NFKC", text or "").strip()
    if q.kind == TEXT:
        value = s.replace("\x00", "")
        return (value, None) if not (problem := value_problem(q, value)) else (None, problem)
    if q.kind == NUMBER:
        value = typed_number(s, q.unit)
        if value is None:
            return None, number_range_text(q)
        return (value, None) if not (problem := value_problem(q, value)) else (None, problem)
    if q.kind == SINGLE:
        for i, label in enumerate(q.options):
            if s == unicodedata.normalize("NFKC", label).strip():
                return i, None
        if s.isdigit() and 1 <= int(s) <= len(q.options):
            return int(s) - 1, None
        return None, "ボタンから選んでください。"
    if q.kind == SCALE:
        if s.isdigit() and 1 <= int(s) <= SCALE_POINTS:
            return int(s), None
        return None, "1から5のボタンから選んでください。"
    if q.kind == DISTRICT:
        for key, name in districts:
            if s in (name, key) or s == name.removesuffix("地区"):
                return key, None
        return None, "ボタンから地区を選んでください。"
    if q.kind == DATE:
        d = _typed_date(s, today)
        return (d.isoformat(), None) if d else (None, DATE_HINT)
    return None, "ボタンから選んでください。"  # MULTI: toggles only


_KANJI_DIGITS = "〇零一二三四五六七八九"
_FIRST_NUMBER = re.compile(r"(\d{1,9})(\.\d+)?|([〇零一二三四五六七八九十百千]+)")


def typed_number(s: str, unit: str | None = None) -> int | None:
    """A number typed as an answer: 35, ３５, 35歳, -3, and estimates (「だいたいで結構です」): 約3時間, 3時間くらい,
    3時間ほど, 十時間, 二、三時間 / 二三時間 (the first of a range). None when no whole number can be read (たくさん,
    2.5: answers are whole numbers). The question's min / max are checked by the caller."""
    s = unicodedata.normalize("NFKC", s or "").strip().replace(",", "")
    unit_re = re.escape(unicodedata.normalize("NFKC", unit)) if unit else ""
    if m := re.fullmatch(r"([+-]?\d{1,9})\s*" + (f"(?:{unit_re})?" if unit else ""), s):
        return int(m.group(1))
    m = _FIRST_NUMBER.search(s)
    if m is None:
        return None
    if m.group(1) is not None:
        if m.group(2):
            return None
        value = int(m.group(1))
    else:
        run = m.group(3)
        if len(run) == 2 and run[0] in _KANJI_DIGITS[2:] and run[1] in _KANJI_DIGITS[2:] \
                and _KANJI_DIGITS.index(run[1]) == _KANJI_DIGITS.index(run[0]) + 1:
            run = run[0]  # 二三時間: two or three hours, not 23
        from handlers.nlu_numbers import kanji_number

        value = kanji_number(run)
        if value is None:
            return None
    return value * 10_000 if s[m.end():].startswith("万") else value


_REIWA = re.compile(r"^令和(\d{1,2}|元)年")
_KANJI_RUN = re.compile(r"[〇零一二三四五六七八九十百千]+(?=[年月日/])")
_ENDINGS = re.compile(r"(です|でお願いします|でおねがいします|にします|ごろ|頃)?[。.!！、,\s]*$")


@lru_cache(maxsize=1)
def typed_date(text: str, today: date | None) -> tuple[date | None, bool]:
    """A date as residents write it: (the date or None, whether the text reads as a date at all). 12/6, 12月6日,
    １２月６日, 十二月六日, 2026-12-06, 2026年12月6日, 令和8年12月6日, and from `today` (Tokyo): 今日, 明日,
    あさって, 土曜 (the next one, today included), 今週の土曜 and 来週の日曜 (weeks begin on Monday: on Thursday
    11/26, 来週の日曜 is 12/6). A month and day without a year is the next such day (this year, or next year
    once it has passed). Days and weekday words are handlers/listing_query's, so the bot reads them one way.
    A date-like text that names no single day (今週末, 2月30日) is (None, True): ask again, never leave."""
    s = unicodedata.normalize("NFKC", text or "").strip().lower().replace(" ", "")
    s = _ENDINGS.sub("", s)
    if not s or len(s) > 30:
        return None, False
    if (d := _iso_date(s)) is not None:
        return d, True
    if _KANJI_RUN.search(s):
        from handlers.nlu_numbers import kanji_number

        s = _KANJI_RUN.sub(lambda k: str(kanji_number(k.group()) or k.group()), s)
    if (m := _REIWA.match(s)) is not None:
        s = f"{2018 + (1 if m.group(1) == '元' else int(m.group(1)))}年{s[m.end():]}"
    if (m := _DATE_FORMS[0].match(s)) is not None:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3))), True
        except ValueError:
            return None, True
    if today is None:
        return None, bool(_DATE_FORMS[1].match(s))
    from handlers.listing_query import parse

    q = parse(s)
    only_days = not (q.free or q.age or q.kinds or q.districts or q.near_me or q.children or q.words)
    if not only_days or not q.has_day:
        return None, False
    if q.days_ahead:  # あさって: nothing else may be named with it
        alone = not (replace(q, days_ahead=0).has_day)
        return (today + timedelta(days=q.days_ahead) if alone else None), True
    if isinstance(q.day, int) and not (q.today or q.tomorrow or q.weekend or q.month_day):
        if q.this_week and not q.weeks_ahead:  # 今週の土曜: this week's, Monday to Sunday
            return today - timedelta(days=today.weekday()) + timedelta(days=q.day), True
        return q.dates(today)[0], True  # 土曜: the next one; 来週の日曜: the week after this one's
    if q.weeks_ahead or q.weekend or q.this_week:  # 来週, 今週末: more than one day
        return None, True
    found = q.dates(today)
    return (found[0] if len(found) == 1 else None), True


def _typed_date(s: str, today: date | None) -> date | None:
    return typed_date(s, today)[0]


def answer_text(q: SurveyQuestion, value, district_names: dict[str, str] | None = None) -> str:
    """An answer as the resident and the team read it (confirmation screen, CSV, free-text lists)."""
    if value is None:
        return "（回答なし）"
    if q.kind == SINGLE:
        return q.options[value] if isinstance(value, int) and 0 <= value < len(q.options) else "?"
    if q.kind == MULTI:
        return "、".join(q.options[v] for v in value if 0 <= v < len(q.options)) or "（選択なし）"
    if q.kind == SCALE:
        labels = q.scale_labels or []
        if value == 1 and labels:
            return f"1（{labels[0]}）"
        if value == SCALE_POINTS and len(labels) > 1:
            return f"{SCALE_POINTS}（{labels[1]}）"
        return str(value)
    if q.kind == NUMBER:
        return f"{value}{q.unit or ''}"
    if q.kind == DATE:
        d = _iso_date(value)
        return f"{d.year}年{d.month}月{d.day}日" if d else str(value)
    if q.kind == DISTRICT:
        return (district_names or {}).get(value, value)
    return str(value)


# -- the builder's checks ---------------------------------------------------------------------------------------

def structure_problems(questions: Sequence[SurveyQuestion]) -> list[str]:
    """Everything that would make the survey unanswerable, in the builder's words (empty: fine)."""
    qs = ordered(questions)
    problems: list[str] = []
    if not qs:
        return ["質問がひとつもありません。"]
    if len(qs) > MAX_QUESTIONS:
        problems.append(f"質問は{MAX_QUESTIONS}問までです。")
    pos = {q.key: i for i, q in enumerate(qs)}
    for i, q in enumerate(qs):
        name = f"Q{i + 1}"
        if q.kind not in KINDS:
            problems.append(f"{name}: 質問の種類がわかりません。")
            continue
        if not (q.text or "").strip():
            problems.append(f"{name}: 質問文がありません。")
        if q.kind in (SINGLE, MULTI):
            n = len(q.options or [])
            if n < 2:
                problems.append(f"{name}: 選択肢を2つ以上入れてください。")
            if n > MAX_OPTIONS[q.kind]:
                problems.append(f"{name}: 選択肢は{MAX_OPTIONS[q.kind]}個までです。")
            if len({o.strip() for o in q.options or []}) != n or any(not o.strip() for o in q.options or []):
                problems.append(f"{name}: 空の選択肢や、同じ選択肢があります。")
        if q.kind == MULTI and q.max_choices and q.max_choices > len(q.options or []):
            problems.append(f"{name}: 選べる数の上限が選択肢の数より多くなっています。")
        if q.kind == NUMBER and q.min_value is not None and q.max_value is not None and q.min_value > q.max_value:
            problems.append(f"{name}: 数の範囲の下限が上限より大きくなっています。")
        if q.kind == TEXT and q.max_length is not None and not 1 <= q.max_length <= TEXT_LIMIT:
            problems.append(f"{name}: 文字数の上限は1から{TEXT_LIMIT}の間にしてください。")
        branches = q.branches or {}
        if branches and q.kind not in BRANCHING:
            problems.append(f"{name}: 回答による移動は「ひとつ選ぶ」と「5段階」の質問にだけ設定できます。")
            continue
        for answer, target in branches.items():
            valid = (q.kind == SINGLE and answer.isdigit() and int(answer) < len(q.options or [])) or \
                    (q.kind == SCALE and answer.isdigit() and 1 <= int(answer) <= SCALE_POINTS)
            if not valid:
                problems.append(f"{name}: 移動の条件にない回答があります。")
            elif target != END and target not in pos:
                problems.append(f"{name}: 移動先の質問がありません。")
            elif target != END and pos[target] <= i:
                problems.append(f"{name}: 移動先は後ろの質問か「終了」にしてください（前に戻ると同じ質問がくり返されます）。")
    if problems:
        return problems
    reached = _reachable(qs)
    for i, q in enumerate(qs):
        if q.key not in reached:
            problems.append(f"Q{i + 1}: どの回答からもこの質問に進めません。移動の設定を見直してください。")
    return problems


def _reachable(qs: list[SurveyQuestion]) -> set[str]:
    keys = [q.key for q in qs]
    seen, todo = set(), [keys[0]]
    while todo:
        key = todo.pop()
        if key == END or key in seen:
            continue
        seen.add(key)
        q = qs[keys.index(key)]
        values: list = [None]  # the next by position (no rule applies)
        if q.kind in BRANCHING:
            values = list(range(len(q.options or []))) if q.kind == SINGLE else list(range(1, SCALE_POINTS + 1))
            if not q.required:
                values.append(None)  # skipped: no rule applies
        todo.extend(next_key(qs, key, v) for v in values)
    return seen


def snapshot(q: SurveyQuestion) -> dict:
    """What a stored answer depends on, to compare before and after an edit."""
    return {"key": q.key, "kind": q.kind, "options": list(q.options or []), "required": bool(q.required),
            "max_choices": q.max_choices, "min_value": q.min_value, "max_value": q.max_value,
            "max_length": q.max_length, "branches": dict(q.branches or {})}


def breaking_changes(before: Sequence[dict], after: Sequence[dict]) -> list[str]:
    """Edits refused once a survey has responses (snapshots before and after). Allowed: rewording, adding
    options at the end, widening limits, adding optional questions, reordering nothing that moves a skip."""
    old = {s["key"]: s for s in before}
    new = {s["key"]: s for s in after}
    problems = []
    for key, o in old.items():
        n = new.get(key)
        if n is None:
            problems.append("回答がある質問は削除できません。")
            continue
        if n["kind"] != o["kind"]:
            problems.append("回答がある質問の種類は変えられません。")
        if len(n["options"]) < len(o["options"]):
            problems.append("回答がある質問の選択肢は減らせません（末尾に足すことはできます）。")
        elif any(new_label != old_label and new_label in o["options"]
                 for old_label, new_label in zip(o["options"], n["options"])):
            # Answers are stored as the option's place: moving a label would change what they say.
            problems.append("回答がある質問の選択肢は並べ替えられません（言い回しの修正と、末尾に足すことはできます）。")
        if not o["required"] and n["required"]:
            problems.append("回答がある質問を、あとから必須にはできません。")
        if n["max_choices"] and (not o["max_choices"] or n["max_choices"] < o["max_choices"]):
            problems.append("回答がある質問の、選べる数を減らすことはできません。")
        if (n["min_value"] is not None and (o["min_value"] is None or n["min_value"] > o["min_value"])) or \
                (n["max_value"] is not None and (o["max_value"] is None or n["max_value"] < o["max_value"])):
            problems.append("回答がある質問の、数の範囲を狭めることはできません。")
        if n["max_length"] and (not o["max_length"] or n["max_length"] < o["max_length"]):
            problems.append("回答がある質問の、文字数の上限を下げることはできません。")
        if n["branches"] != o["branches"]:
            problems.append("回答がある調査では、回答による移動の設定は変えられません。")
    for key, n in new.items():
        if key not in old and n["required"]:
            problems.append("回答がある調査に足せるのは、回答が任意の質問だけです。")
    order_old = [s["key"] for s in before]
    order_new = [s["key"] for s in after if s["key"] in old]
    if order_old != order_new and any(s["branches"] for s in before):
        problems.append("回答による移動がある調査では、回答のあとで質問の順番は変えられません。")
    return list(dict.fromkeys(problems))


def tokyo_today(now: datetime) -> date:
    return now.astimezone(TOKYO).date()


def stamp(survey: Survey, now: datetime) -> datetime:
    """A response's times: for an anonymous survey only to the hour, so a response cannot be matched to the
    resident's message by its time."""
    now = utc(now)
    return now.replace(minute=0, second=0, microsecond=0) if survey.anonymous else now
