"""LINE views of 設定: the one bubble of current choices, and the choosers (地区 by kana group, projects, topics,
how often, quiet hours). Pure functions from plain values to message dicts; wording from settings_vocab.yaml,
generic pieces from handlers.flex.

A chooser shows every entry as a button: chosen ones carry a check mark and the accent colour, and each button
says what tapping it will do (on=1 adds, on=0 removes), so a double tap or an old button never flips twice.
"""
from __future__ import annotations

from dataclasses import dataclass

from handlers import ui
from handlers.flex import ACCENT, ACCENT_SOFT, MUTED, NOW, NOW_SOFT, bubble, button, flex_message, separator, text
from handlers.texts import vocab

V = vocab("settings")
T: dict[str, str] = V["texts"]
TOPIC_LABELS: dict[str, str] = V["topics"]
FREQ_LABELS: dict[str, str] = V["frequencies"]


@dataclass(frozen=True)
class Choices:
    """What a resident hears, as shown (topics are the effective ones: the defaults until they chose)."""

    districts: frozenset[str]
    projects: frozenset[int]
    topics: frozenset[str]
    frequency: str
    quiet: tuple[int, int] | None


@dataclass(frozen=True)
class Group:
    index: int
    label: str
    districts: tuple  # (key, name) pairs, in the city's order


def hhmm(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def quiet_words(quiet: tuple[int, int] | None) -> dict:
    start, end = quiet or (0, 0)
    return {"start": hhmm(start), "end": hhmm(end)}


def mark(label: str, chosen: bool) -> str:
    return (T["mark"] + label) if chosen else label


def toggle_button(label: str, chosen: bool, action: str, display: str, **params) -> dict:
    return button(ui.postback(mark(label, chosen), action, display, on=0 if chosen else 1, **params),
                  "primary" if chosen else "secondary")


def _notice(lines: list[str]) -> list[dict]:
    """A confirmation at the top of a chooser: what was just saved."""
    return [text(line, size="sm", color=ACCENT, weight="bold") for line in lines if line]


def _back_footer() -> list[dict]:
    return [button(ui.postback(T["btn_back"], "settings"), "link")]


# -- the settings bubble ------------------------------------------------------------------------------------------

def _item(title: str, value: str, btn: str, action: str) -> list[dict]:
    return [separator(),
            text(title, size="xs", color=MUTED, margin="md"),
            text(value, size="md", weight="bold"),
            button(ui.postback(btn, action))]


def summary_values(c: Choices, district_names: dict[str, str], project_names: dict[int, str]) -> dict[str, str]:
    districts = "、".join(district_names[k] for k in district_names if k in c.districts) or T["none"]
    projects = "、".join(f"{no} {project_names[no]}" for no in sorted(c.projects) if no in project_names) or T["none"]
    topics = "、".join(lbl for key, lbl in TOPIC_LABELS.items() if key in c.topics) or T["none_topics"]
    quiet = T["quiet_on"].format(**quiet_words(c.quiet)) if c.quiet else T["quiet_off"]
    return {"districts": districts, "projects": projects, "topics": topics,
            "frequency": FREQ_LABELS[c.frequency], "quiet": quiet}


def settings_message(c: Choices, district_names: dict[str, str], project_names: dict[int, str],
                     notice: str | None = None) -> dict:
    v = summary_values(c, district_names, project_names)
    header = [text(T["title"], size="lg", weight="bold")]
    if c.frequency == "off":
        header.append(text(T["stopped_banner"], size="sm", color=NOW, weight="bold"))
    body: list[dict] = _notice([notice or ""]) + [text(T["intro"], size="sm", color=MUTED)]
    body += _item(T["item_districts"], v["districts"], T["btn_districts"], "settings.districts")
    body += _item(T["item_projects"], v["projects"], T["btn_projects"], "settings.projects")
    body += _item(T["item_topics"], v["topics"], T["btn_topics"], "settings.topics")
    body += _item(T["item_frequency"], v["frequency"], T["btn_frequency"], "settings.freq")
    body += _item(T["item_quiet"], v["quiet"], T["btn_quiet"], "settings.quiet")
    if c.frequency == "off":
        footer = [button(ui.postback(T["btn_resume"], "settings.resume"), "primary")]
    else:
        footer = [button(ui.postback(T["btn_stop"], "settings.stop"))]
    alt = notice or f"{T['title']}：地区 {v['districts']}／{v['frequency']}"
    return flex_message(alt, [bubble(body, header=header, footer=footer,
                                     header_bg=NOW_SOFT if c.frequency == "off" else ACCENT_SOFT)])


# -- choosers -----------------------------------------------------------------------------------------------------

def district_bubble(g: Group, chosen: frozenset[str], *, title: str | None, hint: str | None, action: str,
                    toggle: bool = True, notice: str | None = None, footer: list[dict] | None = None) -> dict:
    """One kana group's 地区 as buttons. `toggle` False (onboarding): each button only adds. No `title` / `hint`:
    the group's label alone (the carousel's later cards, when the first card asks the question)."""
    body = _notice([notice or ""]) + ([text(hint, size="sm", color=MUTED)] if hint else [])
    for key, name in g.districts:
        if toggle:
            body.append(toggle_button(name, key in chosen, action, f"{name}地区", k=key, g=g.index))
        else:
            body.append(button(ui.postback(name, action, f"{name}地区", k=key)))
    header = ([text(title, size="sm", color=ACCENT, weight="bold")] if title else []) + \
        [text(g.label, size="xl", weight="bold")]
    return bubble(body, header=header, footer=footer, size="kilo")


def districts_message(groups: list[Group], chosen: frozenset[str], *, only: Group | None = None,
                      notice: str | None = None) -> dict:
    shown = [only] if only is not None else groups
    bubbles = [district_bubble(g, chosen, title=T["districts_title"], hint=T["choose_hint"], action="settings.district",
                               notice=notice if g is shown[0] else None, footer=_back_footer()) for g in shown]
    label = "・".join(g.label for g in shown)
    return flex_message(notice or T["districts_alt"].format(label=label), bubbles)


def onboarding_districts_message(groups: list[Group]) -> dict:
    skip = [button(ui.postback(T["onb_later"], "settings.onb.skip", T["onb_later"]), "link")]
    # The question and its hint once, on the first card; the other cards are headed by their kana group only.
    bubbles = [district_bubble(g, frozenset(), title=T["onb_district_title"] if i == 0 else None,
                               hint=T["onb_district_hint"] if i == 0 else None,
                               action="settings.onb.district", toggle=False, footer=skip)
               for i, g in enumerate(groups)]
    return flex_message(T["onb_district_alt"], bubbles)


def onboarding_topics_message(notice: str | None = None) -> dict:
    body = _notice([notice or ""]) + [text(T["onb_topic_hint"], size="sm", color=MUTED)]
    for key, label in TOPIC_LABELS.items():
        body.append(button(ui.postback(label, "settings.onb.topic", label, t=key)))
    body.append(button(ui.postback(T["onb_all"], "settings.onb.topic", T["onb_all"], t="all"), "primary"))
    skip = [button(ui.postback(T["onb_later"], "settings.onb.skip", T["onb_later"]), "link")]
    header = [text(T["onb_topic_title"], size="lg", weight="bold")]
    return flex_message(notice or T["onb_topic_alt"], [bubble(body, header=header, footer=skip)])


def _chooser(title: str, hint: str, buttons: list[dict], notice: str | None, alt: str) -> dict:
    body = _notice([notice or ""]) + ([text(hint, size="sm", color=MUTED)] if hint else []) + buttons
    return flex_message(notice or alt, [bubble(body, header=[text(title, size="lg", weight="bold")],
                                               footer=_back_footer())])


def projects_message(projects: list[tuple[int, str]], chosen: frozenset[int], notice: str | None = None) -> dict:
    buttons = [toggle_button(f"{no} {name}", no in chosen, "settings.project", f"プロジェクト{no}", id=no)
               for no, name in projects]
    return _chooser(T["projects_title"], T["choose_hint"], buttons, notice, T["projects_title"])


def topics_message(chosen: frozenset[str], notice: str | None = None) -> dict:
    buttons = [toggle_button(label, key in chosen, "settings.topic", label, t=key) for key, label in TOPIC_LABELS.items()]
    return _chooser(T["topics_title"], T["choose_hint"], buttons, notice, T["topics_title"])


def frequency_message(current: str, notice: str | None = None) -> dict:
    rows: list[dict] = []
    for key, label in FREQ_LABELS.items():
        chosen = key == current
        rows.append(button(ui.postback(mark(label, chosen), "settings.freq.set", label, f=key),
                           "primary" if chosen else "secondary"))
        rows.append(text(V["frequency_notes"][key], size="xs", color=MUTED))
    return _chooser(T["frequency_title"], "", rows, notice, T["frequency_title"])


def quiet_message(quiet: tuple[int, int] | None, default: tuple[int, int], notice: str | None = None) -> dict:
    on_label = T["quiet_btn_on"].format(**quiet_words(quiet or default))
    buttons = [button(ui.postback(mark(on_label, quiet is not None), "settings.quiet.set", on_label, on=1),
                      "primary" if quiet is not None else "secondary"),
               button(ui.postback(mark(T["quiet_btn_off"], quiet is None), "settings.quiet.set", T["quiet_btn_off"],
                                  on=0), "primary" if quiet is None else "secondary")]
    return _chooser(T["quiet_title"], T["quiet_hint"], buttons, notice, T["quiet_title"])
