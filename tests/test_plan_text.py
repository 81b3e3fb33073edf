"""Splitting the plan's long Japanese text: never mid-sentence, nothing lost."""
from __future__ import annotations

from pathlib import Path

import yaml

from handlers.plan_flex import BUBBLE_CHARS, excerpt, pages_by_chars, paragraphs, sentences

PLAN = yaml.safe_load((Path(__file__).resolve().parent.parent / "cities/odawara/plan.yaml").read_text("utf-8"))
ACTIONS = [a for p in PLAN["projects"] for a in p["actions"]]


def test_sentences_split_after_maru_and_lose_nothing():
    assert sentences("一つ目。二つ目。三つ目") == ["一つ目。", "二つ目。", "三つ目"]
    assert sentences("「終わり。」次。") == ["「終わり。」", "次。"]
    for a in ACTIONS:
        for bullet in a.get("details", []):
            assert "".join(sentences(bullet)) == bullet.replace("\n", "")


def test_paragraphs_and_bubbles_keep_every_sentence_whole():
    for a in ACTIONS:
        details = a.get("details", [])
        paras = paragraphs(details)
        assert "".join(t for _, t in paras) == "".join(details)
        whole = set(s for d in details for s in sentences(d))
        for _, t in paras:
            # each paragraph is a run of whole sentences
            assert "".join(s for s in sentences(t)) == t and all(s in whole for s in sentences(t))
        for page in pages_by_chars(paras):
            assert len(page) == 1 or sum(len(t) for _, t in page) <= BUBBLE_CHARS


def test_excerpt_of_every_goal_is_short_and_ends_a_sentence():
    for p in PLAN["projects"]:
        ex = excerpt(p["goal"])
        assert 10 <= len(ex) <= 101, (p["no"], ex)
        assert ex.endswith("。")
        assert ex.lstrip("…") in p["goal"].replace("\n", "")
    assert excerpt(PLAN["projects"][0]["goal"]).endswith("「ケアタウン」をつくり上げます。")
