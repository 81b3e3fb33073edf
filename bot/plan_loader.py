"""Load a city's plan.yaml (and districts.yaml, glossary.yaml beside it) into the database: validated, idempotent,
one transaction.

`kyodo plan load [PATH]` (default `cities/<KYODO_CITY>/plan.yaml`). A bad file is refused with the line and
field at fault and nothing is written. Rows are matched by natural keys (project number, action number,
(action, position) for roadmap items, district key, glossary term), so reloading changes nothing and an edited
file updates rows in place with their ids kept.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Iterable

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import ROOT

log = logging.getLogger("kyodo.plan")


# -- schema --------------------------------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class RoadmapItemIn(_Strict):
    from_fy: int = Field(ge=1900, le=2200)
    to_fy: int = Field(ge=1900, le=2200)
    period: int | None = None
    text: NonEmpty

    @model_validator(mode="after")
    def _order(self) -> "RoadmapItemIn":
        if self.to_fy < self.from_fy:
            raise ValueError(f"to_fy ({self.to_fy}) is before from_fy ({self.from_fy})")
        return self


class ActionIn(_Strict):
    no: int = Field(ge=1)
    name: NonEmpty
    details: list[str] = []
    note: str | None = None
    merged_into: list[int] = []
    roadmap: list[RoadmapItemIn] = []

    @field_validator("details")
    @classmethod
    def _no_empty(cls, v: list[str]) -> list[str]:
        if any(not s.strip() for s in v):
            raise ValueError("empty bullet in details")
        return [s.strip() for s in v]


class ProjectIn(_Strict):
    no: int = Field(ge=1)
    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    name: NonEmpty
    short_name: str | None = None
    goal: NonEmpty
    pillars: list[str] = []
    forces: list[str] = []
    actions: list[ActionIn] = Field(min_length=1)


class KeyName(_Strict):
    key: str = Field(min_length=1, max_length=64)
    name: NonEmpty


class PeriodIn(_Strict):
    key: int
    name: NonEmpty
    from_fy: int = Field(ge=1900, le=2200)
    to_fy: int = Field(ge=1900, le=2200)


class PlanFile(_Strict):
    city: NonEmpty
    vision: NonEmpty
    pillars: list[KeyName] = []
    forces: list[KeyName] = []
    periods: list[PeriodIn] = []
    projects: list[ProjectIn] = Field(min_length=1)


class Center(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    estimated: bool = False   # placed by judgement, not on a known landmark


class DistrictIn(_Strict):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    name: NonEmpty
    kana: str | None = None
    aliases: list[NonEmpty] = []
    organisation: str | None = None
    center: Center | None = None


class DistrictsFile(_Strict):
    districts: list[DistrictIn] = Field(min_length=1)


class GlossIn(_Strict):
    term: str = Field(min_length=1, max_length=64)
    gloss: str | None = Field(default=None, max_length=200)
    check: bool = False   # true: the meaning is not confirmed yet; the term is stored but not shown

    @model_validator(mode="after")
    def _gloss_unless_checking(self) -> "GlossIn":
        if not self.check and not (self.gloss or "").strip():
            raise ValueError(f"{self.term}: write a gloss, or mark the term `check: true` until it is confirmed")
        return self


class GlossaryFile(_Strict):
    terms: list[GlossIn] = []


Loc = tuple[Any, ...]


def _plan_cross_checks(p: PlanFile) -> list[tuple[Loc, str]]:
    """Rules that span several entries; each problem carries the path of the entry at fault."""
    problems: list[tuple[Loc, str]] = []
    for name in ("pillars", "forces"):
        seen: set[str] = set()
        for i, item in enumerate(getattr(p, name)):
            if item.key in seen:
                problems.append(((name, i, "key"), f"duplicate key {item.key!r}"))
            seen.add(item.key)
    period_keys = {per.key for per in p.periods}
    pillar_keys, force_keys = {x.key for x in p.pillars}, {x.key for x in p.forces}
    for i, per in enumerate(p.periods):
        if per.to_fy < per.from_fy:
            problems.append((("periods", i, "to_fy"), f"to_fy ({per.to_fy}) is before from_fy ({per.from_fy})"))
    seen_no: dict[int, Loc] = {}
    seen_key: set[str] = set()
    action_nos = {a.no for pr in p.projects for a in pr.actions}
    seen_action: set[int] = set()
    for i, pr in enumerate(p.projects):
        if pr.no in seen_no:
            problems.append((("projects", i, "no"), f"duplicate project number {pr.no}"))
        seen_no[pr.no] = ("projects", i)
        if pr.key in seen_key:
            problems.append((("projects", i, "key"), f"duplicate project key {pr.key!r}"))
        seen_key.add(pr.key)
        for j, k in enumerate(pr.pillars):
            if k not in pillar_keys:
                problems.append((("projects", i, "pillars", j), f"unknown pillar {k!r}"))
        for j, k in enumerate(pr.forces):
            if k not in force_keys:
                problems.append((("projects", i, "forces", j), f"unknown force {k!r}"))
        for j, a in enumerate(pr.actions):
            at = ("projects", i, "actions", j)
            if a.no in seen_action:
                problems.append(((*at, "no"), f"duplicate action number {a.no}"))
            seen_action.add(a.no)
            for m, target in enumerate(a.merged_into):
                if target not in action_nos or target == a.no:
                    problems.append(((*at, "merged_into", m), f"no other action numbered {target}"))
            for r, item in enumerate(a.roadmap):
                if item.period is not None and p.periods and item.period not in period_keys:
                    problems.append(((*at, "roadmap", r, "period"), f"unknown period {item.period}"))
    return problems


def _district_cross_checks(d: DistrictsFile) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    keys: set[str] = set()
    names: set[str] = set()
    for i, item in enumerate(d.districts):
        if item.key in keys:
            problems.append((("districts", i, "key"), f"duplicate key {item.key!r}"))
        if item.name in names:
            problems.append((("districts", i, "name"), f"duplicate name {item.name!r}"))
        keys.add(item.key)
        names.add(item.name)
    # An alias may not be another district's name or alias: a resident's word must lead to one 地区.
    for i, item in enumerate(d.districts):
        for j, alias in enumerate(item.aliases):
            if alias in names:
                problems.append((("districts", i, "aliases", j), f"alias {alias!r} is the name of a district"))
            names.add(alias)
    return problems


def plan_texts(plan: PlanFile) -> list[str]:
    """Every text of the plan a resident reads in an action: names, 実施内容, notes, roadmap items."""
    out: list[str] = []
    for pr in plan.projects:
        out += [pr.name, pr.goal]
        for a in pr.actions:
            out += [a.name, *a.details, *([a.note] if a.note else []), *(it.text for it in a.roadmap)]
    return out


def _glossary_cross_checks(g: GlossaryFile) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    seen: set[str] = set()
    for i, item in enumerate(g.terms):
        if item.term in seen:
            problems.append((("terms", i, "term"), f"duplicate term {item.term!r}"))
        seen.add(item.term)
    return problems


def _glossary_advice(g: GlossaryFile, texts: list[str]) -> list[tuple[Loc, str]]:
    """A term the plan never uses is never shown: a typo, or left over after an action was removed."""
    return [(("terms", i, "term"), f"{item.term!r} does not appear in plan.yaml, so it is never shown")
            for i, item in enumerate(g.terms) if not any(item.term in t for t in texts)]


# -- reading with line numbers -------------------------------------------------------------------------------

class PlanFileError(ValueError):
    """A file was refused; `problems` are lines like `plan.yaml:42: projects[0].actions[1].name: ...`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _loc_text(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _node_at(root: yaml.Node | None, loc: Loc) -> yaml.Node | None:
    """The deepest YAML node along `loc` (a missing field points at the mapping that should hold it)."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    nxt = v
                    break
            if nxt is None:
                return node
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _line_of(root: yaml.Node | None, loc: Loc) -> int:
    node = _node_at(root, loc)
    return node.start_mark.line + 1 if node is not None else 1


def _bool_keys(node: yaml.Node | None, out: list[yaml.Node]) -> None:
    """Keys YAML 1.1 reads as booleans (a bare `no:` is false): the commonest slip in these files."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.tag == "tag:yaml.org,2002:bool":
                out.append(k)
            _bool_keys(v, out)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            _bool_keys(v, out)


def read_file(path: Path, model: type[BaseModel], cross_checks, *, advice=None,
              warnings: list[str] | None = None) -> BaseModel:
    """Parse and validate one YAML file, or raise PlanFileError naming each line and field at fault.

    `advice(parsed)` finds things worth a word that do not refuse the file; they go to `warnings` with their line.
    """
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PlanFileError([f"{path}: cannot read ({e.strerror or e})"]) from None
    except UnicodeDecodeError:
        raise PlanFileError([f"{path}: not UTF-8 text"]) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(e, "problem", None) or str(e)
        ctx_mark, context = getattr(e, "context_mark", None), getattr(e, "context", None)
        if ctx_mark is not None and context and ctx_mark.line + 1 != line:
            problem += f" ({context} on line {ctx_mark.line + 1})"
        raise PlanFileError([f"{name}:{line}: YAML syntax: {problem}"]) from None
    problems: list[tuple[int, str]] = []
    bools: list[yaml.Node] = []
    _bool_keys(root, bools)
    bool_lines = {k.start_mark.line + 1 for k in bools}
    for k in bools:
        problems.append((k.start_mark.line + 1,
                         f'key {k.value} is read as true/false; write it in quotes ("{k.value}": ...)'))
    if not isinstance(data, dict):
        problems.append((1, "the file must be a mapping (key: value) at the top level"))
        raise PlanFileError([f"{name}:{line}: {msg}" for line, msg in problems])
    try:
        parsed = model.model_validate(data)
    except ValidationError as e:
        for err in e.errors(include_url=False):
            loc = tuple(err["loc"])
            line = _line_of(root, loc)
            if line in bool_lines:
                continue  # already reported as a boolean key, with a better message
            msg = err["msg"].removeprefix("Value error, ")
            problems.append((line, f"{_loc_text(loc)}: {msg}"))
        raise PlanFileError([f"{name}:{line}: {msg}" for line, msg in sorted(problems)]) from None
    problems += [(_line_of(root, loc), f"{_loc_text(loc)}: {msg}") for loc, msg in cross_checks(parsed)]
    if problems:
        raise PlanFileError([f"{name}:{line}: {msg}" for line, msg in sorted(problems)])
    if advice is not None and warnings is not None:
        warnings += [f"{name}:{_line_of(root, loc)}: {_loc_text(loc)}: {msg}" for loc, msg in advice(parsed)]
    return parsed


def read_plan(path: Path) -> PlanFile:
    return read_file(path, PlanFile, _plan_cross_checks)  # type: ignore[return-value]


def read_districts(path: Path) -> DistrictsFile:
    return read_file(path, DistrictsFile, _district_cross_checks)  # type: ignore[return-value]


def read_glossary(path: Path, plan: PlanFile | None = None, warnings: list[str] | None = None) -> GlossaryFile:
    """The glossary; with the plan, terms it never uses are reported in `warnings`."""
    texts = plan_texts(plan) if plan is not None else []
    return read_file(path, GlossaryFile, _glossary_cross_checks,  # type: ignore[return-value]
                     advice=(lambda g: _glossary_advice(g, texts)) if plan is not None else None, warnings=warnings)


# -- writing ---------------------------------------------------------------------------------------------------

@dataclass
class LoadReport:
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    districts_file: Path | None = None
    glossary_file: Path | None = None
    warnings: list[str] = field(default_factory=list)   # loaded anyway, but worth a look (with file and line)
    news: list[str] = field(default_factory=list)       # titles of what was published about new items (bot.plan_news)

    def count(self, kind: str, table: str) -> None:
        d = getattr(self, kind)
        d[table] = d.get(table, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated or self.deleted)

    def summary(self) -> str:
        """Plain words, not table names: 'added 7 projects, 21 actions, …; changed 1 district; removed 2 actions'."""
        if not self.changed:
            return "no changes"
        parts = []
        for verb, kind in (("added", "inserted"), ("changed", "updated"), ("removed", "deleted")):
            d = getattr(self, kind)
            if d:
                parts.append(f"{verb} " + ", ".join(_counted(t, d[t]) for t in sorted(d, key=_SUMMARY_ORDER.index)))
        return "; ".join(parts)


# What each table holds, in words a city employee uses, in the order a summary names them.
_PLAIN_NAMES = {
    "plan_projects": ("project", "projects"),
    "plan_actions": ("action", "actions"),
    "plan_roadmap_items": ("roadmap item", "roadmap items"),
    "districts": ("district", "districts"),
    "plan_glossary": ("glossary term", "glossary terms"),
    "plan_pillars": ("pillar", "pillars"),
    "plan_forces": ("force", "forces"),
    "plan_periods": ("period", "periods"),
    "plan_info": ("the city name and vision", "the city name and vision"),  # one row
}
_SUMMARY_ORDER = list(_PLAIN_NAMES)


def _counted(table: str, n: int) -> str:
    one, many = _PLAIN_NAMES[table]
    if table == "plan_info":
        return one
    return f"{n} {one if n == 1 else many}"


def _apply(row, values: dict, now: datetime) -> bool:
    """Set only the fields that differ, so an unchanged row issues no UPDATE and keeps its updated_at."""
    changed = False
    for k, v in values.items():
        if getattr(row, k) != v:
            setattr(row, k, v)
            changed = True
    if changed:
        row.updated_at = now
    return changed


def _sync(db: Session, model, existing: Iterable, key_of, wanted: list[tuple[Any, dict]], now: datetime,
          report: LoadReport, *, delete: bool = True) -> dict[Any, Any]:
    """Make the rows of `model` match `wanted` [(natural key, values)]: insert, update in place, delete the rest."""
    table = model.__tablename__
    by_key = {key_of(r): r for r in existing}
    out = {}
    for key, values in wanted:
        row = by_key.pop(key, None)
        if row is None:
            row = model(**values, updated_at=now)
            db.add(row)
            report.count("inserted", table)
        elif _apply(row, values, now):
            report.count("updated", table)
        out[key] = row
    if delete:
        for row in by_key.values():
            db.delete(row)
            report.count("deleted", table)
    return out


def write_plan(db: Session, plan: PlanFile, now: datetime, report: LoadReport) -> None:
    from models.plan import Action, PlanForce, PlanInfo, PlanPeriod, PlanPillar, Project, RoadmapItem

    info = db.get(PlanInfo, 1)
    values = {"city_name": plan.city, "vision": plan.vision}
    if info is None:
        db.add(PlanInfo(id=1, **values, updated_at=now))
        report.count("inserted", PlanInfo.__tablename__)
    elif _apply(info, values, now):
        report.count("updated", PlanInfo.__tablename__)

    for model, items in ((PlanPillar, plan.pillars), (PlanForce, plan.forces)):
        _sync(db, model, db.scalars(select(model)), lambda r: r.key,
              [(x.key, {"key": x.key, "name": x.name, "position": i}) for i, x in enumerate(items)], now, report)
    _sync(db, PlanPeriod, db.scalars(select(PlanPeriod)), lambda r: r.number,
          [(p.key, {"number": p.key, "name": p.name, "from_fy": p.from_fy, "to_fy": p.to_fy}) for p in plan.periods],
          now, report)

    # Order matters: actions that left the file go first, projects that left go last, so an action that
    # moved to another project keeps its row (and id) instead of going down with its old project.
    wanted_actions = {a.no for pr in plan.projects for a in pr.actions}
    for a in db.scalars(select(Action).where(Action.number.not_in(wanted_actions))):
        db.delete(a)
        report.count("deleted", Action.__tablename__)
    db.flush()

    wanted_projects = {pr.no for pr in plan.projects}
    projects = _sync(db, Project, db.scalars(select(Project)), lambda r: r.number, [
        (pr.no, {"number": pr.no, "key": pr.key, "name": pr.name, "short_name": pr.short_name, "goal": pr.goal,
                 "pillar_keys": list(pr.pillars), "force_keys": list(pr.forces), "position": i})
        for i, pr in enumerate(plan.projects)], now, report, delete=False)
    db.flush()

    existing_actions = {a.number: a for a in db.scalars(select(Action))}
    for pr in plan.projects:
        project = projects[pr.no]
        for pos, a in enumerate(pr.actions):
            values = {"number": a.no, "project_id": project.id, "name": a.name, "details": list(a.details),
                      "note": a.note, "merged_into": list(a.merged_into), "position": pos}
            row = existing_actions.get(a.no)
            if row is None:
                row = Action(**values, updated_at=now)
                db.add(row)
                report.count("inserted", Action.__tablename__)
                db.flush()
                existing_items: list = []
            else:
                if _apply(row, values, now):
                    report.count("updated", Action.__tablename__)
                existing_items = list(db.scalars(select(RoadmapItem).where(RoadmapItem.action_id == row.id)))
            _sync(db, RoadmapItem, existing_items, lambda r: r.position, [
                (i, {"action_id": row.id, "position": i, "from_fy": it.from_fy, "to_fy": it.to_fy,
                     "period": it.period, "text": it.text})
                for i, it in enumerate(a.roadmap)], now, report)
    db.flush()
    for gone in db.scalars(select(Project).where(Project.number.not_in(wanted_projects))):
        db.delete(gone)
        report.count("deleted", Project.__tablename__)
    db.flush()


def write_districts(db: Session, data: DistrictsFile, now: datetime, report: LoadReport) -> None:
    from models.plan import District

    wanted = [(d.key, {"key": d.key, "name": d.name, "kana": d.kana, "aliases": list(d.aliases),
                       "organisation": d.organisation,
                       "lat": d.center.lat if d.center else None, "lon": d.center.lon if d.center else None,
                       "center_estimated": bool(d.center and d.center.estimated),
                       "position": i}) for i, d in enumerate(data.districts)]
    # Names are unique: remove rows that leave first, so a name handed to another key does not collide.
    keep = {k for k, _ in wanted}
    for row in list(db.scalars(select(District))):
        if row.key not in keep:
            db.delete(row)
            report.count("deleted", District.__tablename__)
    db.flush()
    _sync(db, District, db.scalars(select(District)), lambda r: r.key, wanted, now, report)
    db.flush()


def write_glossary(db: Session, data: GlossaryFile, now: datetime, report: LoadReport) -> None:
    from models.plan import GlossaryTerm

    _sync(db, GlossaryTerm, db.scalars(select(GlossaryTerm)), lambda r: r.term, [
        (g.term, {"term": g.term, "gloss": (g.gloss or "").strip() or None, "confirmed": not g.check, "position": i})
        for i, g in enumerate(data.terms)], now, report)
    db.flush()


def districts_path_for(plan_path: Path) -> Path:
    return plan_path.with_name("districts.yaml")


def glossary_path_for(plan_path: Path) -> Path:
    return plan_path.with_name("glossary.yaml")


def load(sessions, plan_path: Path | str, now: datetime, *, districts_path: Path | str | None = None,
         publish_news: bool = True) -> LoadReport:
    """Validate every file first, then write everything in one transaction (all or nothing).

    districts.yaml and glossary.yaml beside the plan are loaded when present; when absent, the districts or
    the glossary are left as they are. New actions and roadmap items are published to their residents in the
    same transaction (bot/plan_news.py), so the news commits with the plan or not at all; `publish_news=False`
    loads without it.
    """
    plan_path = Path(plan_path)
    dpath = Path(districts_path) if districts_path else districts_path_for(plan_path)
    gpath = glossary_path_for(plan_path)
    problems: list[str] = []
    warnings: list[str] = []
    plan = districts = glossary = None
    try:
        plan = read_plan(plan_path)
    except PlanFileError as e:
        problems += e.problems
    if dpath.exists():
        try:
            districts = read_districts(dpath)
        except PlanFileError as e:
            problems += e.problems
    elif districts_path:
        problems.append(f"{dpath}: no such file")
    if gpath.exists():
        try:
            glossary = read_glossary(gpath, plan, warnings)
        except PlanFileError as e:
            problems += e.problems
    if problems:
        raise PlanFileError(problems)
    report = LoadReport(districts_file=dpath if districts is not None else None,
                        glossary_file=gpath if glossary is not None else None, warnings=warnings)
    from bot import plan_news

    with sessions() as db, db.begin():
        before = plan_news.snapshot(db) if publish_news else None
        write_plan(db, plan, now, report)  # type: ignore[arg-type]
        if districts is not None:
            write_districts(db, districts, now, report)
        if glossary is not None:
            write_glossary(db, glossary, now, report)
        if before is not None:
            report.news = [p.title or p.ref for p in plan_news.publish_news(db, before, now)]
    return report


def default_plan_path(city: str) -> Path:
    return ROOT / "cities" / city / "plan.yaml"


def load_default(cfg) -> None:
    """Demo set-up step: load cities/<city>/plan.yaml (and districts.yaml) into the configured database."""
    from bot.clock import system_clock
    from bot.db import make_engine, make_sessions

    engine = make_engine(cfg.database_url, pool_size=1)
    try:
        report = load(make_sessions(engine), default_plan_path(cfg.city), system_clock())
    finally:
        engine.dispose()
    print("\n".join(wrap_at_commas(f"  ✓ plan for {cfg.city}: {report.summary()}", width=78, indent="      ")))


def wrap_at_commas(text: str, *, width: int, indent: str) -> list[str]:
    """Lines of at most `width` characters, broken only after a comma: a first load's long list stays readable
    in an 80-column terminal without splitting '26 districts' across two lines."""
    lines = [""]
    for item in text.split(", "):
        piece = item if not lines[-1] else lines[-1] + ", " + item
        if lines[-1] and len(piece) >= width:
            lines[-1] += ","
            lines.append(indent + item)
        else:
            lines[-1] = piece
    return lines


# -- command line ----------------------------------------------------------------------------------------------

def add_commands(sub) -> None:
    p = sub.add_parser("plan", help="the city's plan data")
    psub = p.add_subparsers(dest="plan_command", required=True)
    ld = psub.add_parser("load", help="load plan.yaml (and districts.yaml, glossary.yaml beside it) into the database")
    ld.add_argument("path", nargs="?", help="plan.yaml to load (default: cities/<KYODO_CITY>/plan.yaml)")
    ld.add_argument("--districts", help="districts.yaml (default: the one beside plan.yaml, if any)")
    ld.add_argument("--no-publish", action="store_true",
                    help="do not tell residents about new actions and roadmap items (bot/plan_news.py)")
    ld.set_defaults(func=cmd_plan_load)


def cmd_plan_load(args) -> int:
    import sys

    from bot.cli import config_for
    from bot.clock import system_clock
    from bot.db import make_engine, make_sessions

    cfg = config_for(args, need_secrets=False)
    path = Path(args.path) if args.path else default_plan_path(cfg.city)
    engine = make_engine(cfg.database_url, pool_size=1)
    try:
        report = load(make_sessions(engine), path, system_clock(), districts_path=args.districts,
                      publish_news=not args.no_publish)
    except PlanFileError as e:
        print(f"kyodo plan load: {path} was not loaded; nothing was changed:", file=sys.stderr)
        for line in e.problems:
            print("  " + line, file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    where = f" and {report.districts_file.name}" if report.districts_file else " (no districts.yaml beside it)"
    if report.glossary_file:
        where += f" and {report.glossary_file.name}"
    print(f"loaded {path}{where}: {report.summary()}")
    for line in report.warnings:
        print("  note: " + line)
    for title in report.news:
        print("  published to followers: " + title)
    return 0
