"""bot/ja_text.py: Sudachi's words of a message, spelling variants folded, odd input harmless."""
from __future__ import annotations

import threading

from bot import ja_text as J


def test_spelling_variants_fold_to_one_word():
    assert J.terms("子ども食堂") [0] == J.terms("こども食堂")[0] == J.terms("子供食堂")[0]
    assert "申し込む" in J.terms("申込みたい") and "申し込む" in J.terms("申し込みたいです")


def test_content_words_only():
    assert J.terms("バスが減って買い物に行けないのですが") == ["バス", "減る", "買い物", "行く"]
    assert J.terms("の、は。が！") == []


def test_odd_input_is_harmless():
    assert J.tokens("") == () and J.terms("\x00\t\n") == []
    assert J.terms("\ud800テスト") == ["テスト"]  # a lone surrogate (repaired by the webhook) never reaches Sudachi
    assert len(J.tokens("あ" * 5000)) >= 1  # cut to MAX_CHARS, not refused
    assert len(J.terms("🍙おにぎり👍")) == 1


def test_threads_each_get_a_tokenizer():
    out, errors = [], []

    def work(i):
        try:
            out.append(J.terms(f"ボランティア{i}に申し込みたい"))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors and len(out) == 8 and all("ボランティア" in o for o in out)
    assert J.warm() >= 0 and J.stats()["load_s"] is not None
