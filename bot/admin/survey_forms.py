"""The アンケート builder's forms: a survey's settings and one question.

WTForms on JaForm like the other admin forms: what was typed stays and the problem is shown beside its field
in Japanese. Times are typed in Tokyo (datetime-local) and stored in UTC. Which structures and edits are
allowed is bot/survey_logic.py's (structure_problems, breaking_changes); these forms only read and check one
screen's input.
"""
from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime

from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Optional, ValidationError

from bot import segments
from bot.admin.announce_flow import TOPIC_LABELS
from bot.admin.forms import REQUIRED, JaForm, choices, max_len
from bot.clock import TOKYO, to_tokyo, utc
from bot.survey_logic import KIND_LABELS, MAX_OPTIONS, SCALE_POINTS, TEXT_LIMIT
from models.surveys import END, KINDS, MULTI, NUMBER, SCALE, SINGLE, TEXT

EVERYONE, CHOSEN = "everyone", "chosen"
ANONYMOUS, NAMED = "anonymous", "named"
ANONYMOUS_NOTE = ("回答とLINEアカウントは結びつけられません。二重回答を防ぐため、鍵付きハッシュだけを保存します。"
                  "退会した方の回答も残ります。")
NAMED_NOTE = "回答者ごとに回答を記録します。退会した方の回答は削除されます。"
INTRO_LIMIT = 1000
WHEN_HINT = "日時は 2026-12-01 09:00 のように入力してください。"
NUMBER_LIMIT = 10**9  # what a resident may type (survey_logic.parse_typed reads up to 9 digits)
NEXT = ""  # a skip select's value: no rule, the next question by position


def parse_when(raw: str | None) -> datetime | None:
    """'2026-12-01T09:00' (datetime-local) or '2026-12-01 09:00' in Tokyo, as UTC; None when empty. Raises
    ValueError with the Japanese message when it cannot be read."""
    text = unicodedata.normalize("NFKC", raw or "").strip().replace("T", " ").replace("/", "-")
    if not text:
        return None
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            when = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if not 2000 <= when.year <= 2100:
            break
        return utc(when.replace(tzinfo=TOKYO))
    raise ValueError(WHEN_HINT)


def show_when(dt: datetime | None) -> str:
    """A stored time as the datetime-local field shows it (Tokyo)."""
    return f"{to_tokyo(dt):%Y-%m-%dT%H:%M}" if dt else ""


class WhenField(StringField):
    """A Tokyo date and time; `.when` is the UTC datetime (None when empty or unreadable)."""

    when: datetime | None = None

    def pre_validate(self, form) -> None:
        self.when = None
        try:
            self.when = parse_when(self.data)
        except ValueError as e:
            raise ValidationError(str(e)) from e


class SurveyForm(JaForm):
    survey_team_id = SelectField("調査チーム", coerce=int, default=0)
    title = StringField("タイトル", [InputRequired(REQUIRED), max_len(100)])
    intro = TextAreaField("はじめの説明（回答の前に表示されます）", [Optional(), max_len(INTRO_LIMIT)],
                          render_kw={"rows": 4}, filters=[lambda s: s.replace("\r\n", "\n").strip() if s else s])
    opens_at = WhenField("回答の受付開始（日本時間）", [InputRequired(REQUIRED)], render_kw={"type": "datetime-local"})
    closes_at = WhenField("締切（日本時間）", [InputRequired(REQUIRED)], render_kw={"type": "datetime-local"})
    remind_at = WhenField("未回答の方へのリマインド（任意・1回だけ）", [Optional()], render_kw={"type": "datetime-local"})
    privacy = RadioField("回答のあつかい", default=ANONYMOUS,
                         choices=choices([(ANONYMOUS, "無記名"), (NAMED, "記名")]))
    allow_edit = BooleanField("締切までは、回答した方が回答を修正できるようにする")
    target = RadioField("回答をお願いする相手", default=EVERYONE,
                        choices=choices([(EVERYONE, "友だち全員"), (CHOSEN, "条件を選ぶ")]))
    districts = SelectMultipleField("地区", coerce=str)
    projects = SelectMultipleField("プロジェクト", coerce=int)
    topics = SelectMultipleField("関心のある分野", coerce=str, choices=choices(list(TOPIC_LABELS.items())))
    match = RadioField("条件の組み合わせ方", default=segments.ANY, choices=choices([
        (segments.ANY, "選んだ条件のどれか一つに当てはまる方（または）"),
        (segments.ALL, "選んだ条件のすべてに当てはまる方だけ（かつ）"),
    ]))

    def validate_target(self, field) -> None:
        if field.data == CHOSEN and not (self.districts.data or self.projects.data or self.topics.data):
            raise ValidationError("地区・プロジェクト・関心のある分野から、条件を一つ以上選んでください。")

    def segment(self) -> dict:
        """The target as stored in Survey.segment (Segment.to_json's shape; {} = all followers)."""
        if self.target.data != CHOSEN:
            return {}
        seg = segments.Segment(districts=tuple(self.districts.data or ()), projects=tuple(self.projects.data or ()),
                               topics=tuple(self.topics.data or ()), match=self.match.data or segments.ANY)
        data = json.loads(seg.to_json())
        data.pop("user_ids", None)
        return data

    def fill(self, survey) -> None:
        """The form's fields from a stored survey (GET of the edit page)."""
        seg = segments.Segment.from_json(survey.segment or {})
        if "survey_team_id" in self:
            self.survey_team_id.data = survey.survey_team_id or 0
        self.title.data, self.intro.data = survey.title, survey.intro or ""
        self.opens_at.data, self.closes_at.data = show_when(survey.opens_at), show_when(survey.closes_at)
        self.remind_at.data = show_when(survey.remind_at)
        self.privacy.data = ANONYMOUS if survey.anonymous else NAMED
        self.allow_edit.data = bool(survey.allow_edit)
        self.target.data = EVERYONE if seg.is_everyone() else CHOSEN
        self.districts.data, self.projects.data = list(seg.districts), list(seg.projects)
        self.topics.data, self.match.data = list(seg.topics), seg.match

    def window_problems(self, now: datetime, stored=None) -> bool:
        """The times against each other and the clock (after validate()); adds errors, True when fine.
        `stored`: the survey being edited (a start already past may stay as it is)."""
        opens, closes, remind = self.opens_at.when, self.closes_at.when, self.remind_at.when
        ok = True
        if closes is not None:
            if closes <= utc(now) and (stored is None or utc(stored.closes_at) != closes):
                self.closes_at.errors.append(f"締切（{to_tokyo(closes):%Y/%m/%d %H:%M}）が過ぎています。これから先の日時にしてください。")
                ok = False
            elif opens is not None and closes <= opens:
                self.closes_at.errors.append("締切は受付開始より後にしてください。")
                ok = False
        if remind is not None and opens is not None and closes is not None and not opens < remind < closes:
            self.remind_at.errors.append("リマインドは、受付開始から締切までの間の日時にしてください。")
            ok = False
        return ok


# --- a question ---------------------------------------------------------------------------------------------

def _int(field, label: str, lo: int, hi: int) -> int | None:
    text = unicodedata.normalize("NFKC", field.data or "").strip().replace(",", "")
    if not text:
        return None
    if not re.fullmatch(r"[+-]?\d{1,10}", text) or not lo <= int(text) <= hi:
        raise ValidationError(f"{label}は{lo:,}から{hi:,}までの数字で入力してください。")
    return int(text)


class QuestionForm(JaForm):
    kind = SelectField("質問の種類", choices=choices([(k, KIND_LABELS[k]) for k in KINDS]), default=SINGLE)
    text = TextAreaField("質問文", [InputRequired(REQUIRED), max_len(300)], render_kw={"rows": 2},
                         filters=[lambda s: s.replace("\r\n", "\n").strip() if s else s])
    note = StringField("補足（質問の下に小さく表示・任意）", [Optional(), max_len(300)])
    required = BooleanField("回答を必須にする", default=True)
    options = TextAreaField("選択肢（1行に1つ）", render_kw={"rows": 5})
    max_choices = StringField("選べる数の上限（空欄: いくつでも）", render_kw={"inputmode": "numeric"})
    min_value = StringField("いちばん小さい数", render_kw={"inputmode": "numeric"})
    max_value = StringField("いちばん大きい数", render_kw={"inputmode": "numeric"})
    unit = StringField("単位（例: 歳、人、回）", [Optional(), max_len(10)])
    max_length = StringField(f"文字数の上限（1〜{TEXT_LIMIT}）", render_kw={"inputmode": "numeric"})
    scale_low = StringField("1 のときの言葉（例: 不満）", [Optional(), max_len(20)])
    scale_high = StringField("5 のときの言葉（例: 満足）", [Optional(), max_len(20)])

    def option_list(self) -> list[str]:
        return [line.strip() for line in (self.options.data or "").replace("\r\n", "\n").split("\n") if line.strip()]

    def validate_options(self, field) -> None:
        if self.kind.data not in (SINGLE, MULTI):
            return
        opts = self.option_list()
        if len(opts) < 2:
            raise ValidationError("選択肢を2つ以上、1行に1つずつ入力してください。")
        if len(opts) > MAX_OPTIONS[self.kind.data]:
            raise ValidationError(f"選択肢は{MAX_OPTIONS[self.kind.data]}個までです（いま{len(opts)}個）。")
        if len(set(opts)) != len(opts):
            raise ValidationError("同じ選択肢が2回あります。")
        if any(len(o) > 100 for o in opts):
            raise ValidationError("選択肢は1つ100文字以内にしてください。")

    def validate_max_choices(self, field) -> None:
        if self.kind.data == MULTI:
            n = _int(field, "選べる数の上限", 1, MAX_OPTIONS[MULTI])
            if n is not None and n > len(self.option_list()):
                raise ValidationError("選べる数の上限が、選択肢の数より多くなっています。")

    def validate_min_value(self, field) -> None:
        if self.kind.data == NUMBER:
            _int(field, "いちばん小さい数", -NUMBER_LIMIT + 1, NUMBER_LIMIT - 1)

    def validate_max_value(self, field) -> None:
        if self.kind.data == NUMBER:
            hi = _int(field, "いちばん大きい数", -NUMBER_LIMIT + 1, NUMBER_LIMIT - 1)
            try:
                lo = _int(self.min_value, "", -NUMBER_LIMIT + 1, NUMBER_LIMIT - 1)
            except ValidationError:
                return
            if lo is not None and hi is not None and lo > hi:
                raise ValidationError("いちばん大きい数は、いちばん小さい数以上にしてください。")

    def validate_max_length(self, field) -> None:
        if self.kind.data == TEXT:
            _int(field, "文字数の上限", 1, TEXT_LIMIT)

    def values(self) -> dict:
        """The question's columns from a validated form; fields of other kinds are emptied."""
        kind = self.kind.data
        v = {"kind": kind, "text": self.text.data, "note": (self.note.data or "").strip() or None,
             "required": bool(self.required.data), "options": [], "max_choices": None, "min_value": None,
             "max_value": None, "unit": None, "max_length": None, "scale_labels": []}
        if kind in (SINGLE, MULTI):
            v["options"] = self.option_list()
        if kind == MULTI:
            v["max_choices"] = _int(self.max_choices, "", 1, MAX_OPTIONS[MULTI])
        if kind == NUMBER:
            v["min_value"] = _int(self.min_value, "", -NUMBER_LIMIT + 1, NUMBER_LIMIT - 1)
            v["max_value"] = _int(self.max_value, "", -NUMBER_LIMIT + 1, NUMBER_LIMIT - 1)
            v["unit"] = (self.unit.data or "").strip() or None
        if kind == TEXT:
            v["max_length"] = _int(self.max_length, "", 1, TEXT_LIMIT)
        if kind == SCALE:
            low, high = (self.scale_low.data or "").strip(), (self.scale_high.data or "").strip()
            v["scale_labels"] = [low, high] if (low or high) else []
        return v

    def fill(self, q) -> None:
        self.kind.data, self.text.data, self.note.data, self.required.data = q.kind, q.text, q.note or "", q.required
        self.options.data = "\n".join(q.options or [])
        for name in ("max_choices", "min_value", "max_value", "max_length"):
            value = getattr(q, name)
            getattr(self, name).data = "" if value is None else str(value)
        self.unit.data = q.unit or ""
        labels = list(q.scale_labels or []) + ["", ""]
        self.scale_low.data, self.scale_high.data = labels[0], labels[1]


# --- skip rules (移動先) ----------------------------------------------------------------------------------------

def branch_answers(kind: str, options: list[str], scale_labels: list[str] = ()) -> list[tuple[str, str]]:
    """(answer as stored in `branches`, its label) for each answer a skip rule may start from."""
    if kind == SINGLE:
        return [(str(i), label) for i, label in enumerate(options)]
    if kind == SCALE:
        labels = list(scale_labels or []) + ["", ""]
        return [(str(v), f"{v}" + (f"（{labels[0]}）" if v == 1 and labels[0] else "")
                 + (f"（{labels[1]}）" if v == SCALE_POINTS and labels[1] else "")) for v in range(1, SCALE_POINTS + 1)]
    return []


def target_choices(later: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The 移動先 select: 次の質問, each later question (key, 'Q5 …'), 終了."""
    return [(NEXT, "次の質問へ")] + later + [(END, "終了（確認画面へ）")]


def read_branches(form, kind: str, options: list[str], later_keys: set[str]) -> tuple[dict, dict]:
    """The skip rules from the 移動先 selects (`go_<answer>`): ({answer: target}, {field: error})."""
    rules, errors = {}, {}
    for answer, _label in branch_answers(kind, options):
        target = (form.get(f"go_{answer}") or NEXT).strip()
        if target == NEXT:
            continue
        if target != END and target not in later_keys:
            errors[f"go_{answer}"] = "移動先は、この質問より後ろの質問か「終了」を選んでください（前に戻ると同じ質問がくり返されます）。"
            continue
        rules[answer] = target
    return rules, errors
