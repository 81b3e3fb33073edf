"""The view for a location message: what is near (places and events, drawn by their own features' bubbles),
and the nearest 地区 with the plan's actions there, as the carousel's last bubble."""
from __future__ import annotations

from handlers import ui
from handlers.flex import ACCENT, MUTED, box, bubble, button, separator, text

# -- wording (one place for the resident-facing text of this feature) ------------------------------------------
T = {
    "alt": "いちばん近い地区は{name}地区です",
    "heading": "いちばん近い地区",
    "district": "{name}地区",
    "inside": "送っていただいた地点は、{name}地区のあたりです。",
    "edge": "送っていただいた地点は、{city}の境目に近いか、{city}の外のようです。いちばん近い地区は{name}地区です。",
    "how": "{other}地区との境目の近くかもしれません（各地区の中心からの距離で選んでいます）。",
    "mentioned": "計画の中で{name}地区が出てくる取組",
    "local": "どの地区でも進める、地域の取組",
    "tap": "押すと、くわしい内容をご覧になれます。",
    "no_plan": "計画の情報を準備しています。",
    "nothing_near": "近くのこどもの居場所やイベントは、まだ登録されていません。",
    "alt_near": "近くのこどもの居場所とイベント",
    "btn_more_places": "近くの居場所をもっと見る",
    "btn_events": "近くのイベント",
    "btn_list": "プロジェクト一覧",
    "btn_year": "今年度の予定",
    "btn_send": "位置情報を送る",
    "btn_follow": "この地区のお知らせを受け取る",
    "follow_display": "{name}地区のお知らせを受け取る",
    "action_label": "アクション{no}",
    "outside": ("送っていただいた地点は、{city}の外のようです（いちばん近い{name}地区から約{km}km）。\n"
                "{city}の中の地点を送っていただくと、いちばん近い地区と、そこで進める計画の取組をご案内します。"),
    "not_ready": "地区の情報を準備しています。\nお手数ですが、しばらくしてからもう一度お試しください。",
    "unreadable": "位置情報を読み取れませんでした。\nお手数ですが、もう一度送っていただくか、下のボタンから選んでください。",
}


def km_text(km: float) -> str:
    """0.4 / 3.2 / 73: one decimal while it means something."""
    return f"{km:.1f}" if km < 10 else f"{km:.0f}"


def _action_row(a) -> dict:
    return box([
        text(str(a.number), size="sm", color=ACCENT, weight="bold", flex=0),
        text(a.name, size="sm", flex=1),
        text("›", size="lg", color=MUTED, flex=0),
    ], "horizontal", spacing="md", paddingTop="6px", paddingBottom="6px",
        action=ui.postback(T["action_label"].format(no=a.number), "plan.action", no=a.number))


def district_bubble(district, city: str, *, edge: bool, mentioned: list, local: list,
                    plan_loaded: bool = True, neighbour=None, nothing_near: bool = False) -> dict:
    """`mentioned`: actions whose text names this 地区; `local`: actions every 地区 takes part in;
    `neighbour`: another 地区 whose centre is nearly as close (then the answer says the choice may be off);
    `nothing_near`: no place or event was found near the point (then the bubble says so)."""
    name = district.name
    header = [text(T["heading"], size="sm", color=ACCENT, weight="bold"),
              text(T["district"].format(name=name), size="xl", weight="bold")]
    if district.kana:
        header.append(text(district.kana, size="xs", color=MUTED))
    lead = T["edge"] if edge else T["inside"]
    body = [text(lead.format(name=name, city=city), size="md")]
    if neighbour is not None:
        body.append(text(T["how"].format(other=neighbour.name), size="xs", color=MUTED, margin="sm"))
    sections = [(T["mentioned"].format(name=name), mentioned), (T["local"], local)]
    if any(items for _, items in sections):
        for title, items in sections:
            if items:
                body += [separator("lg"), text(title, size="sm", weight="bold", margin="lg")]
                body += [_action_row(a) for a in items]
        body.append(text(T["tap"], size="xs", color=MUTED, margin="sm"))
    elif not plan_loaded:
        body += [separator("lg"), text(T["no_plan"], size="sm", color=MUTED, margin="lg")]
    if nothing_near:
        body += [separator("lg"), text(T["nothing_near"], size="sm", color=MUTED, margin="lg")]
    footer = [button(ui.postback(T["btn_list"], "plan.list"), "primary"),
              button(ui.postback(T["btn_year"], "plan.year", "今年度の予定（全体）")),
              # Straight into 設定: the district a resident just located is the one they most likely want.
              button(ui.postback(T["btn_follow"], "settings.district", T["follow_display"].format(name=name),
                                 k=district.key, on=1))]
    return bubble(body, header=header, footer=footer)


def send_location_action() -> dict:
    """A quick reply that opens LINE's location picker, so a resident can try another point."""
    return {"type": "location", "label": ui.label(T["btn_send"])}
