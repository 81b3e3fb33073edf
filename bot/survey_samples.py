"""`kyodo sample load`, surveys (step 9): the open sample survey of cities/<city>/sample_survey.yaml, with one
question of every kind and a skip rule, so the demo can answer a survey on LINE and see its results at once.

The loader contract is bot/sample_data.py's (one transaction, source "sample", loading again updates in place,
rows of any other source never touched). Surveys are matched by external_key "sample:survey:<key>", questions
by their key: ids stay the same across loads. The window moves to [now, now + open_days] on every load. Once
residents have answered, only edits that keep their answers readable are made (survey_logic.breaking_changes;
otherwise the questions stay as they are), and anonymous/named and the target never change. No invitation is
published (bot/survey_notices.on_opened is not called, and refuses sample surveys besides).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.clock import utc
from bot.config import ROOT
from bot.sample_data import (KEY_PREFIX, MARK, SAMPLE, SampleDataError, _existing, _set, _taken_by_others)
from bot.survey_logic import BRANCHING, breaking_changes, snapshot, structure_problems
from models.surveys import KINDS, MULTI, NUMBER, OPEN, SCALE, SINGLE, TEXT, Survey, SurveyQuestion, SurveyResponse

SURVEY_FILE = "sample_survey.yaml"
KEY_KIND = "survey:"  # external_key "sample:survey:<key>"
FIELDS = ("kind", "text", "note", "required", "options", "max_choices", "min_value", "max_value", "unit",
          "max_length", "scale_labels", "branches")


def survey_path(city: str) -> Path:
    return ROOT / "cities" / city / SURVEY_FILE


def _branches(q: dict) -> dict:
    """The file's skip rules ({option label | scale value: target}) as stored ({"<index or value>": target})."""
    out = {}
    for answer, target in (q.get("branches") or {}).items():
        if q.get("kind") == SINGLE:
            if answer not in (q.get("options") or []):
                raise ValueError(f"skip rule for {answer!r}, which is not one of the options")
            out[str(q["options"].index(answer))] = str(target)
        else:
            out[str(answer)] = str(target)
    return out


def question_values(q: dict, position: int) -> dict:
    """One question of the file as SurveyQuestion columns (raises ValueError for what cannot be one)."""
    kind = q.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if not str(q.get("key", "")).startswith("q"):
        raise ValueError("key must be q1, q2 ...")
    if q.get("branches") and kind not in BRANCHING:
        raise ValueError("skip rules only on single and scale questions")
    return dict(key=str(q["key"]), position=position, kind=kind, text=str(q.get("text") or ""),
                note=q.get("note"), required=bool(q.get("required", True)),
                options=[str(o) for o in q.get("options") or []],
                max_choices=q.get("max_choices") if kind == MULTI else None,
                min_value=q.get("min_value") if kind == NUMBER else None,
                max_value=q.get("max_value") if kind == NUMBER else None,
                unit=q.get("unit") if kind == NUMBER else None,
                max_length=q.get("max_length") if kind == TEXT else None,
                scale_labels=[str(s) for s in q.get("scale_labels") or []] if kind == SCALE else [],
                branches=_branches(q))


def read_surveys(city: str) -> list[dict]:
    """The file's surveys, each with its questions as column values; every problem at once (SampleDataError)."""
    import yaml

    path = survey_path(city)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    problems: list[str] = []
    seen: set[str] = set()
    out = []
    for i, row in enumerate(data.get("surveys") or []):
        where = f"{path.name}: surveys[{i}] ({row.get('key')})"
        key = row.get("key")
        if not key or key in seen:
            problems.append(f"{where}: key missing or used twice")
        seen.add(key)
        if not str(row.get("title", "")).endswith(MARK):
            problems.append(f"{where}: title must end with {MARK}")
        if len(str(row.get("title", ""))) > 100:
            problems.append(f"{where}: title longer than 100 characters")
        days = row.get("open_days")
        if not (isinstance(days, int) and 1 <= days <= 365):
            problems.append(f"{where}: open_days {days!r} must be a whole number of days (1-365)")
        questions = []
        for j, q in enumerate(row.get("questions") or [], start=1):
            try:
                questions.append(question_values(q, j))
            except (ValueError, TypeError, AttributeError, KeyError) as e:
                problems.append(f"{where}: questions[{j - 1}] ({q.get('key') if isinstance(q, dict) else q}): {e}")
        if len({q["key"] for q in questions}) != len(questions):
            problems.append(f"{where}: a question key is used twice")
        elif len(questions) == len(row.get("questions") or []):
            problems += [f"{where}: {p}" for p in structure_problems([SurveyQuestion(**q) for q in questions])]
        out.append({**row, "questions": questions})
    if problems:
        raise SampleDataError(problems)
    return out


def _team_id(db: Session) -> int | None:
    from bot.admin.demo import DEMO_SURVEY_TEAM
    from models.accounts import SurveyTeam

    return db.scalar(select(SurveyTeam.id).where(SurveyTeam.name == DEMO_SURVEY_TEAM))


def _has_responses(db: Session, survey_id: int) -> bool:
    return db.scalar(select(SurveyResponse.id).where(SurveyResponse.survey_id == survey_id).limit(1)) is not None


def _sync_questions(db: Session, survey: Survey, wanted: list[dict]) -> None:
    """The survey's questions made the file's: matched by key (ids kept), new ones added, the rest deleted."""
    have = {q.key: q for q in survey.questions}
    for values in wanted:
        q = have.pop(values["key"], None)
        if q is None:
            survey.questions.append(SurveyQuestion(**values))
        else:
            _set(q, values)
    for q in have.values():
        survey.questions.remove(q)


def _delete_surveys(db: Session, surveys: list[Survey]) -> int:
    """Sample surveys with their questions and responses; returns how many responses went."""
    if not surveys:
        return 0
    ids = [s.id for s in surveys]
    n = db.scalar(select(func.count()).select_from(SurveyResponse).where(SurveyResponse.survey_id.in_(ids))) or 0
    db.execute(delete(SurveyResponse).where(SurveyResponse.survey_id.in_(ids)))
    for s in surveys:
        db.delete(s)  # its questions with it (relationship cascade)
    db.flush()
    return n


def load_surveys(db: Session, *, city: str, now: datetime) -> str:
    rows = read_surveys(city)
    now = utc(now)
    clash = _taken_by_others(db, Survey, [KEY_KIND + r["key"] for r in rows])
    if clash:
        raise SampleDataError([f"{k} belongs to a row that is not sample data; nothing was loaded" for k in clash])
    existing = {k: s for k, s in _existing(db, Survey).items() if k.startswith(KEY_KIND)}
    team_id = _team_id(db)
    n_questions, kinds, rules, kept = 0, set(), 0, 0
    for row in rows:
        survey = existing.pop(KEY_KIND + row["key"], None)
        answered = survey is not None and _has_responses(db, survey.id)
        values = dict(title=row["title"], intro=(row.get("intro") or "").strip() or None, status=OPEN,
                      opens_at=now, closes_at=now + timedelta(days=row["open_days"]),
                      allow_edit=bool(row.get("allow_edit")),
                      remind_at=None, survey_team_id=team_id)
        if not answered:  # who may answer, and whether answers are linked to them, never change under answers
            values.update(anonymous=bool(row.get("anonymous", True)), segment={})
        if survey is None:
            survey = Survey(external_key=KEY_PREFIX + KEY_KIND + row["key"], source=SAMPLE, created_at=now,
                            updated_at=now)
            db.add(survey)
        _set(survey, values)
        survey.updated_at = now
        survey.opened_at = survey.opened_at or now
        wanted = row["questions"]
        if answered and breaking_changes([snapshot(q) for q in survey.questions],
                                         [snapshot(SurveyQuestion(**q)) for q in wanted]):
            kept += 1  # residents' answers must stay readable: the questions stay as they are
        else:
            _sync_questions(db, survey, wanted)
        db.flush()
        n_questions += len(survey.questions)
        kinds |= {q.kind for q in survey.questions}
        rules += sum(len(q.branches or {}) for q in survey.questions)
    gone = list(existing.values())
    gone_responses = _delete_surveys(db, gone)
    return (f"{len(rows)} open surveys, {n_questions} questions ({len(kinds)} kinds, {rules} skip rules)"
            + (f"; questions of {kept} answered surveys kept" if kept else "")
            + (f"; removed {len(gone)} surveys ({gone_responses} responses) no longer listed" if gone else ""))


def remove_surveys(db: Session) -> str:
    surveys = list(db.scalars(select(Survey).where(Survey.source == SAMPLE)))
    responses = _delete_surveys(db, surveys)
    return f"removed {len(surveys)} surveys, {responses} responses"


__all__ = ["load_surveys", "read_surveys", "remove_surveys", "survey_path"]
