"""`kyodo richmenu`: the six-area menu and its generated image, created through the SDK on the emulator."""
from __future__ import annotations

import io
import json
import urllib.request

from PIL import Image

from bot.cli import main
from bot.richmenu import HEIGHT, WIDTH, install_default, menu_definition, render_image
from emulator import check_rich_menu
from handlers.router import TABLES
from bot.postback import decode


def test_menu_has_six_areas_that_route_to_handlers():
    menu = menu_definition()
    assert check_rich_menu(menu) == []
    labels = [a["action"]["label"] for a in menu["areas"]]
    assert labels == ["プロジェクト", "こどもの居場所", "イベント", "ボランティア", "アンケート", "設定"]
    for area in menu["areas"]:
        assert decode(area["action"]["data"]).action in TABLES["POSTBACKS"]


def test_image_matches_menu_size():
    img = Image.open(io.BytesIO(render_image()))
    assert img.size == (WIDTH, HEIGHT) and img.format == "PNG"
    assert len(render_image()) < 1024 * 1024


def test_install_sets_the_default_menu_on_the_emulator(bot, emulator, monkeypatch):
    first = install_default(bot.rt.config)
    second = install_default(bot.rt.config)  # a redeploy replaces, never piles up
    with urllib.request.urlopen(f"{emulator.base_url}/_emulator/richmenu?user=U{'0' * 32}") as r:
        data = json.loads(r.read())
    assert data["richMenu"]["richMenuId"] == second != first
    assert [m["richMenuId"] for m in bot.rt.adapter.list_rich_menus()] == [second]


def test_richmenu_command(bot, emulator, monkeypatch, capsys):
    for k, v in {"LINE_CHANNEL_SECRET": "test-channel-secret", "LINE_CHANNEL_ACCESS_TOKEN": "test-access-token",
                 "KYODO_SECRET_KEY": "k", "LINE_API_BASE_URL": emulator.base_url,
                 "LINE_DATA_API_BASE_URL": emulator.base_url, "DATABASE_URL": bot.rt.config.database_url}.items():
        monkeypatch.setenv(k, v)
    assert main(["richmenu"]) == 0
    assert "is the default" in capsys.readouterr().out
