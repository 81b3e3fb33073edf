"""Each feature owns its free-text words: an intent's words live in the `nlu:` section of the vocabulary file of
the module that answers it (handlers/<module>_vocab.yaml, the module whose INTENTS has the intent);
handlers/core_keywords.yaml keeps only the language; the classifier reads every file that has words."""
from __future__ import annotations

import pytest

from handlers import common, nlu, router

LANGUAGE = {"rewrites", "fillers", "numbers", "negations", "time_words"}
SECTION_KEYS = {"intents", "targets", "time_words"}  # what handlers/nlu.py: tables reads


def _owners() -> dict[str, str]:
    """Intent -> the vocabulary file of the module that answers it (as the router merges: a feature overrides
    common)."""
    owners = {}
    for mod in (common, *router.FEATURES):
        for intent in getattr(mod, "INTENTS", {}):
            owners[intent] = f"{mod.__name__.rsplit('.', 1)[-1]}_vocab.yaml"
    return owners


def _section(name: str) -> dict:
    return nlu._read_yaml(nlu.HANDLERS / name).get("nlu") or {}


def test_core_keywords_holds_only_the_language():
    core = nlu._read_yaml(nlu.CORE_FILE)
    assert set(core) <= LANGUAGE, f"not language: {sorted(set(core) - LANGUAGE)} (intents belong to their feature)"


@pytest.mark.parametrize("name", nlu.FEATURE_VOCAB)
def test_every_intents_words_live_in_its_owners_file(name):
    owners, section = _owners(), _section(name)
    assert section, f"{name} is in FEATURE_VOCAB but has no nlu: section"
    assert set(section) <= SECTION_KEYS, f"{name}: keys the classifier does not read: {set(section) - SECTION_KEYS}"
    for intent in [*(section.get("intents") or {}), *(section.get("targets") or {})]:
        assert owners.get(intent) == name, f"{name} has words for {intent!r}, answered by {owners.get(intent)}"


def test_every_vocabulary_file_with_words_is_read():
    with_words = {p.name for p in nlu.HANDLERS.glob("*_vocab.yaml") if _section(p.name)}
    assert with_words <= set(nlu.FEATURE_VOCAB), f"not in FEATURE_VOCAB: {sorted(with_words - set(nlu.FEATURE_VOCAB))}"


def test_every_intent_the_tables_know_has_a_handler():
    t = nlu._tables_for("odawara", None)
    assert {e.intent for e in t.entries} <= set(router.TABLES["INTENTS"])
