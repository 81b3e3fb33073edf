"""設定: residents choose what they hear (地区, projects, topics, how often, quiet hours), stop everything in one
step, follow a project from the plan carousel, and are asked once after following which 地区 they live in.

Every change is saved at once (rows of models/subscriptions.py) and confirmed in the same reply, with the way
back. Buttons carry the state they set (on=1 / on=0, f=weekly), so tapping twice or tapping an old button
never undoes what the resident meant. Free text reaches the same places through the `settings` intent.
"""
from __future__ import annotations

import jaconv
from sqlalchemy import select

from handlers import nlu, ui
from handlers import settings_flex as F
from handlers.context import Ctx, raw_text
from handlers.flex import tail_quick
from handlers.menu import main_menu_quick
from models import plan as P
from models.subscriptions import (DEFAULT_QUIET_END, DEFAULT_QUIET_START, DEFAULT_TOPICS, FREQUENCIES, NOW, OFF,
                                  TOPICS, WEEKLY, Preference, SubscribedDistrict, SubscribedProject, SubscribedTopic)

T = F.T
FREE = F.V["free_text"]
PROGRESS = "progress"  # the topic a project's subscribers hear its 線表 news under (fiscal-year start)


# -- what is stored -------------------------------------------------------------------------------------------

def _pref(ctx: Ctx) -> Preference:
    """The resident's preferences row, made with the defaults the first time anything is saved."""
    assert ctx.user is not None
    p = ctx.db.get(Preference, ctx.user.id)
    if p is None:
        p = Preference(user_id=ctx.user.id, frequency=NOW, quiet_start=DEFAULT_QUIET_START,
                       quiet_end=DEFAULT_QUIET_END, topics_chosen=False, updated_at=ctx.now)
        ctx.db.add(p)
        ctx.db.flush()
    p.updated_at = ctx.now
    return p


def choices(ctx: Ctx) -> F.Choices:
    assert ctx.user is not None
    uid, db = ctx.user.id, ctx.db
    p = db.get(Preference, uid)
    chosen_topics = set(db.scalars(select(SubscribedTopic.topic).where(SubscribedTopic.user_id == uid)))
    quiet = None
    if p is None:
        quiet = (DEFAULT_QUIET_START, DEFAULT_QUIET_END)
    elif p.quiet_start is not None and p.quiet_end is not None:
        quiet = (p.quiet_start, p.quiet_end)
    return F.Choices(
        districts=frozenset(db.scalars(select(SubscribedDistrict.district).where(SubscribedDistrict.user_id == uid))),
        projects=frozenset(db.scalars(select(SubscribedProject.project).where(SubscribedProject.user_id == uid))),
        topics=frozenset(chosen_topics if p is not None and p.topics_chosen else set(DEFAULT_TOPICS)),
        frequency=p.frequency if p is not None and p.frequency in FREQUENCIES else NOW,
        quiet=quiet)


def _set_row(ctx: Ctx, model, on: bool, **key) -> bool:
    """Add or remove one choice row; True when something changed."""
    assert ctx.user is not None
    row = ctx.db.get(model, {"user_id": ctx.user.id, **key})
    if on and row is None:
        ctx.db.add(model(user_id=ctx.user.id, **key))
    elif not on and row is not None:
        ctx.db.delete(row)
    else:
        return False
    _pref(ctx)  # marks updated_at
    ctx.db.flush()
    return True


def _own_topics(ctx: Ctx) -> None:
    """Before the first topic change, the defaults become rows the resident can then change."""
    p = _pref(ctx)
    if not p.topics_chosen:
        p.topics_chosen = True
        for t in DEFAULT_TOPICS:
            _set_row(ctx, SubscribedTopic, True, topic=t)


def _set_topic(ctx: Ctx, topic: str, on: bool) -> bool:
    _own_topics(ctx)
    return _set_row(ctx, SubscribedTopic, on, topic=topic)


# -- the city's lists ---------------------------------------------------------------------------------------------

def _district_names(ctx: Ctx) -> dict[str, str]:
    return {d.key: d.name for d in P.districts(ctx.db)}


def _project_names(ctx: Ctx) -> dict[int, str]:
    return {p.number: p.display_short for p in P.projects(ctx.db)}


def groups(districts) -> list[F.Group]:
    """地区 grouped by the first kana of their reading (settings_vocab.yaml), empty groups left out."""
    spec = F.V["district_groups"]
    buckets: list[list] = [[] for _ in range(len(spec) + 1)]
    for d in districts:
        first = jaconv.kata2hira((d.kana or "").strip()[:1])
        i = next((k for k, g in enumerate(spec) if first and first in g["kana"]), len(spec))
        buckets[i].append((d.key, d.name))
    labels = [g["label"] for g in spec] + [F.V["other_group"]]
    return [F.Group(i, labels[i], tuple(b)) for i, b in enumerate(buckets) if b]


def _group_of(gs: list[F.Group], key: str) -> F.Group | None:
    return next((g for g in gs if any(k == key for k, _ in g.districts)), None)


def _not_loaded() -> list[dict]:
    return [ui.text(T["not_loaded"], main_menu_quick())]


def _back_quick(*extra: dict) -> list[dict]:
    return tail_quick(*extra, ui.postback(T["btn_back"], "settings"))


# -- views ----------------------------------------------------------------------------------------------------------

def show(ctx: Ctx, notice: str | None = None) -> list[dict]:
    msg = F.settings_message(choices(ctx), _district_names(ctx), _project_names(ctx), notice)
    return ui.with_quick([msg], tail_quick())


def show_settings(ctx: Ctx) -> list[dict]:
    return show(ctx)


def _group_quick(gs: list[F.Group], but: F.Group | None = None) -> list[dict]:
    return [ui.postback(T["group_quick"].format(label=g.label), "settings.districts", g=g.index)
            for g in gs if g is not but]


def show_districts(ctx: Ctx, notice: str | None = None, only: F.Group | None = None) -> list[dict]:
    gs = groups(P.districts(ctx.db))
    if not gs:
        return _not_loaded()
    if only is None and ctx.postback is not None and ctx.postback.action == "settings.districts":
        g = ctx.postback.int("g")
        only = next((x for x in gs if x.index == g), None)
    msg = F.districts_message(gs, choices(ctx).districts, only=only, notice=notice)
    return ui.with_quick([msg], _back_quick(*_group_quick(gs, only)))


def toggle_district(ctx: Ctx) -> list[dict]:
    assert ctx.postback is not None
    key, on = ctx.postback.get("k") or "", ctx.postback.int("on") == 1
    names = _district_names(ctx)
    if key not in names:
        return show_districts(ctx, notice=T["no_district"])
    _set_row(ctx, SubscribedDistrict, on, district=key)
    notice = (T["added"] if on else T["removed"]).format(name=names[key])
    return show_districts(ctx, notice=notice, only=_group_of(groups(P.districts(ctx.db)), key))


def show_projects(ctx: Ctx, notice: str | None = None) -> list[dict]:
    names = _project_names(ctx)
    if not names:
        return _not_loaded()
    msg = F.projects_message(list(names.items()), choices(ctx).projects, notice)
    return ui.with_quick([msg], _back_quick(ui.postback(T["btn_plan_list"], "plan.list")))


def toggle_project(ctx: Ctx) -> list[dict]:
    assert ctx.postback is not None
    no, on = ctx.postback.int("id"), ctx.postback.int("on") == 1
    names = _project_names(ctx)
    if no not in names:
        return show_projects(ctx, notice=T["no_project"])
    _set_row(ctx, SubscribedProject, on, project=no)
    if on:
        _set_topic(ctx, PROGRESS, True)
    return show_projects(ctx, notice=(T["added"] if on else T["removed"]).format(name=f"{no} {names[no]}"))


def show_topics(ctx: Ctx, notice: str | None = None) -> list[dict]:
    return ui.with_quick([F.topics_message(choices(ctx).topics, notice)], _back_quick())


def toggle_topic(ctx: Ctx) -> list[dict]:
    assert ctx.postback is not None
    topic, on = ctx.postback.get("t") or "", ctx.postback.int("on") == 1
    if topic not in TOPICS:
        return show_topics(ctx)
    _set_topic(ctx, topic, on)
    return show_topics(ctx, notice=(T["added"] if on else T["removed"]).format(name=F.TOPIC_LABELS[topic]))


def show_frequency(ctx: Ctx, notice: str | None = None) -> list[dict]:
    return ui.with_quick([F.frequency_message(choices(ctx).frequency, notice)], _back_quick())


def set_frequency(ctx: Ctx) -> list[dict]:
    assert ctx.postback is not None
    freq = ctx.postback.get("f") or ""
    if freq not in FREQUENCIES:
        return show_frequency(ctx)
    p = _pref(ctx)
    if freq == OFF:
        _stop(p)  # 受け取らない is 通知を停止: 再開 brings back what they had
    else:
        p.frequency, p.resume_frequency = freq, None
    return show_frequency(ctx, notice=T["frequency_set"].format(label=F.FREQ_LABELS[freq]))


def show_quiet(ctx: Ctx, notice: str | None = None) -> list[dict]:
    msg = F.quiet_message(choices(ctx).quiet, (DEFAULT_QUIET_START, DEFAULT_QUIET_END), notice)
    return ui.with_quick([msg], _back_quick())


def set_quiet(ctx: Ctx) -> list[dict]:
    assert ctx.postback is not None
    p = _pref(ctx)
    if ctx.postback.int("on") == 1:
        p.quiet_start, p.quiet_end = DEFAULT_QUIET_START, DEFAULT_QUIET_END
        notice = T["quiet_set_on"].format(**F.quiet_words((p.quiet_start, p.quiet_end)))
    else:
        p.quiet_start = p.quiet_end = None
        notice = T["quiet_set_off"]
    return show_quiet(ctx, notice)


def _resumed_frequency(p: Preference) -> str:
    """What 通知を再開 brings back: the frequency before stopping (すぐに when none was kept); if not stopped,
    the current one."""
    if p.frequency != OFF and p.frequency in FREQUENCIES:
        return p.frequency
    return p.resume_frequency if p.resume_frequency in FREQUENCIES and p.resume_frequency != OFF else NOW


def _resume_quick(p: Preference) -> list[dict]:
    """通知を再開する restores what they had; the weekly digest is offered besides when that was not it."""
    weekly = ([ui.postback(T["btn_resume_weekly"], "settings.resume", T["btn_resume_weekly"], f=WEEKLY)]
              if _resumed_frequency(p) != WEEKLY else [])
    return tail_quick(ui.postback(T["btn_resume"], "settings.resume"), *weekly,
                      ui.postback(T["btn_settings"], "settings"))


def _stop(p: Preference) -> bool:
    """Frequency off, the one before kept for 再開 (not overwritten when already stopped); True if it was on."""
    if p.frequency == OFF:
        return False
    p.resume_frequency = p.frequency if p.frequency in FREQUENCIES else NOW
    p.frequency = OFF
    return True


def stop(ctx: Ctx) -> list[dict]:
    """通知を停止: everything stops in one step (frequency off, every choice kept); the answer says how to turn it
    back on."""
    p = _pref(ctx)
    stopped = _stop(p)
    return [ui.text(T["stopped" if stopped else "already_stopped"], _resume_quick(p))]


def resume(ctx: Ctx) -> list[dict]:
    """通知を再開: back to the frequency they had before stopping (topics, 地区 and projects were never touched).
    Only 週1回のまとめで再開 (f=weekly) names one; `f=now` came with 通知を再開する before the frequency was kept,
    and is read as that button is now: as before."""
    p = _pref(ctx)
    asked = ctx.postback.get("f") if ctx.postback is not None else None
    freq = WEEKLY if asked == WEEKLY else _resumed_frequency(p)
    p.frequency, p.resume_frequency = freq, None
    return show(ctx, notice=T["resumed"].format(label=F.FREQ_LABELS[freq]))


# -- following one project or 地区 in one step (carousel button, free text) ----------------------------------------

def _stopped_note(ctx: Ctx) -> tuple[str, list[dict]]:
    if choices(ctx).frequency == OFF:
        return "\n" + T["still_stopped"], [ui.postback(T["btn_resume"], "settings.resume")]
    return "", []


def follow_project(ctx: Ctx, no: int | None = None) -> list[dict]:
    """The plan carousel's 通知を受け取る: subscribe, confirm in one message, offer to undo."""
    if no is None and ctx.postback is not None:
        no = ctx.postback.int("id")
    p = P.project(ctx.db, no)
    if p is None:
        return show_projects(ctx, notice=T["no_project"])
    added = _set_row(ctx, SubscribedProject, True, project=p.number)
    _set_topic(ctx, PROGRESS, True)  # the project's news is sent under this topic
    note, extra = _stopped_note(ctx)
    body = (T["project_followed"] if added else T["project_already"]).format(name=p.name) + note
    undo = ui.postback(T["btn_undo"], "settings.project.undo", f"プロジェクト{p.number}の登録を取り消す", id=p.number)
    return [ui.text(body, tail_quick(*extra, undo, ui.postback(T["btn_settings"], "settings"),
                                     ui.postback(T["btn_plan_list"], "plan.list")))]


def undo_project(ctx: Ctx) -> list[dict]:
    assert ctx.postback is not None
    no = ctx.postback.int("id")
    p = P.project(ctx.db, no)
    if p is None:
        return show_projects(ctx, notice=T["no_project"])
    _set_row(ctx, SubscribedProject, False, project=p.number)
    return [ui.text(T["project_unfollowed"].format(name=p.name),
                    tail_quick(ui.postback(T["btn_settings"], "settings"), ui.postback(T["btn_plan_list"], "plan.list")))]


def follow_districts(ctx: Ctx, keys: list[str], on: bool = True) -> list[dict]:
    names = _district_names(ctx)
    changed = [_set_row(ctx, SubscribedDistrict, on, district=k) for k in keys]
    label = "・".join(names[k] for k in keys)
    if not on:
        body = T["district_unfollowed"].format(name=label)
    else:
        body = (T["district_followed"] if any(changed) else T["district_already"]).format(name=label)
    note, extra = _stopped_note(ctx) if on else ("", [])
    quick = [*extra]
    if on and len(keys) == 1:
        quick.append(ui.postback(T["btn_undo"], "settings.district", f"{label}地区の登録を取り消す", k=keys[0], on=0))
    quick += [ui.postback(T["btn_more_districts"], "settings.districts"), ui.postback(T["btn_settings"], "settings")]
    return [ui.text(body + note, tail_quick(*quick))]


# -- free text ------------------------------------------------------------------------------------------------------

def _folded(words: list[str]) -> list[str]:
    return [w for w in (nlu.fold(x) for x in words) if w]


_WORDS = {name: _folded(FREE[name]) for name in ("quiet", "stop", "resume", "frequency", "topics", "districts",
                                                  "projects")}
_NOISE = sorted({nlu.normalise(w) for w in FREE["noise"]}, key=len, reverse=True)
_AFTER = tuple(F.V["district_after"])


def _has(key: str, kind: str) -> bool:
    return any(w in key for w in _WORDS[kind])


def _bounded(s: str, start: int, end: int) -> bool:
    before_ok = start == 0 or not (s[start - 1].isalpha() and not "\u3041" <= s[start - 1] <= "\u309f")
    return before_ok and (end == len(s) or s.startswith(_AFTER, end))


def districts_in(ctx: Ctx, raw: str) -> list[str]:
    """地区 named in a message (name, its parts, reading or alias), longest forms first, each once."""
    forms: list[tuple[str, str]] = []
    for d in P.districts(ctx.db):
        names = {d.name, *d.name.split("・"), *(d.aliases or [])}
        # Readings only when long enough to be safe (くの, そが hide inside other words), as in handlers.nlu.
        names |= {k for k in (d.kana or "").split("・") if len(k) >= 3}
        forms += [(jaconv.kata2hira(f), d.key) for f in names if f]
    forms.sort(key=lambda x: -len(x[0]))
    s = jaconv.kata2hira(nlu.normalise(raw))
    taken, found = [False] * len(s), []
    for form, key in forms:
        start = s.find(form)
        while start >= 0:
            end = start + len(form)
            free = not any(taken[start:end])
            if free and (len(form) >= 3 or _bounded(s, start, end)):
                taken[start:end] = [True] * (end - start)
                if key not in found:
                    found.append(key)
            start = s.find(form, start + 1)
    return found


def project_in(raw: str) -> int | None:
    """The project a message names, asked of the NLU once the settings words are cut off."""
    rest = nlu.normalise(raw)
    for w in _NOISE:
        rest = rest.replace(w, " ")
    if not rest.strip():
        return None
    got = nlu.classify(rest)
    if got.name in ("plan.project", "plan.year") and got.target and got.target.isdigit():
        return int(got.target)
    return None


def on_text(ctx: Ctx) -> list[dict]:
    """`settings` intent: a named 地区 or project is followed (or dropped, with a stop word); else the words
    pick the chooser; else the settings bubble."""
    raw = raw_text(ctx)
    key = nlu.fold(raw)
    stop_word = _has(key, "stop")
    keys = districts_in(ctx, raw)
    if keys:
        return follow_districts(ctx, keys, on=not stop_word)
    no = project_in(raw)
    if no is not None and P.project(ctx.db, no) is not None:
        if stop_word:
            return _drop_project(ctx, no)
        return follow_project(ctx, no)
    if _has(key, "quiet"):
        return show_quiet(ctx)
    if stop_word:
        return stop(ctx)
    if _has(key, "frequency"):
        return show_frequency(ctx)
    if _has(key, "topics") or any(nlu.fold(lbl) in key for lbl in F.TOPIC_LABELS.values()):
        return show_topics(ctx)
    if _has(key, "districts"):
        return show_districts(ctx)
    if _has(key, "projects"):
        return show_projects(ctx)
    if _has(key, "resume") and choices(ctx).frequency == OFF:
        return resume(ctx)
    return show(ctx)


def _drop_project(ctx: Ctx, no: int) -> list[dict]:
    p = P.project(ctx.db, no)
    assert p is not None
    _set_row(ctx, SubscribedProject, False, project=no)
    return [ui.text(T["project_unfollowed"].format(name=p.name),
                    tail_quick(ui.postback(T["btn_settings"], "settings")))]


# -- asked once after the first follow -----------------------------------------------------------------------------

def onboarding(ctx: Ctx) -> list[dict]:
    """The question after the greeting (account.on_follow calls this): [] when it was asked before.

    It is the welcome's last message, and LINE shows only the last message's quick replies: so it carries the
    greeting's main menu too (あとで選ぶ first), or the greeting's 「下のボタンから選んでください」 would point at nothing."""
    if ctx.user is None:
        return []
    p = _pref(ctx)
    if p.onboarded_at is not None:
        return []
    p.onboarded_at = ctx.now
    gs = groups(P.districts(ctx.db))
    skip = ui.postback(T["onb_later"], "settings.onb.skip", T["onb_later"])
    msg = F.onboarding_districts_message(gs) if gs else F.onboarding_topics_message()
    return ui.with_quick([msg], [skip, *main_menu_quick()])


def onboarding_district(ctx: Ctx) -> list[dict]:
    assert ctx.postback is not None
    key = ctx.postback.get("k") or ""
    names = _district_names(ctx)
    notice = None
    if key in names:
        _set_row(ctx, SubscribedDistrict, True, district=key)
        notice = T["onb_district_saved"].format(name=names[key])
    skip = ui.postback(T["onb_later"], "settings.onb.skip", T["onb_later"])
    return ui.with_quick([F.onboarding_topics_message(notice)], tail_quick(skip))


def onboarding_topic(ctx: Ctx) -> list[dict]:
    assert ctx.postback is not None
    topic = ctx.postback.get("t") or ""
    if topic == "all":
        for t in TOPICS:
            _set_topic(ctx, t, True)
    elif topic in TOPICS:
        _set_topic(ctx, topic, True)
    shown = "」「".join(lbl for k, lbl in F.TOPIC_LABELS.items() if k in choices(ctx).topics)
    return [ui.text(T["onb_done"].format(topics=shown), tail_quick(ui.postback(T["btn_settings"], "settings")))]


def onboarding_skip(ctx: Ctx) -> list[dict]:
    return [ui.text(T["onb_skipped"], main_menu_quick())]


POSTBACKS = {
    "settings": show_settings,
    "settings.districts": show_districts,
    "settings.district": toggle_district,
    "settings.projects": show_projects,
    "settings.project": toggle_project,
    "settings.project.undo": undo_project,
    "settings.topics": show_topics,
    "settings.topic": toggle_topic,
    "settings.freq": show_frequency,
    "settings.freq.set": set_frequency,
    "settings.quiet": show_quiet,
    "settings.quiet.set": set_quiet,
    "settings.stop": stop,
    "settings.resume": resume,
    "settings.onb.district": onboarding_district,
    "settings.onb.topic": onboarding_topic,
    "settings.onb.skip": onboarding_skip,
    "plan.follow": follow_project,  # the plan carousel's 通知を受け取る (its button data predates this module)
}
INTENTS = {"settings": on_text}
