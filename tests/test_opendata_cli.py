"""`kyodo events|places import|export` as a real process against the test database: the encoding it read, the
counts, each refused row with line and column; exit 0 / 1 (some rows refused, the rest imported) / 2 (the
file unreadable, nothing written); the import's audit entry; --organisation, --dry-run; export as UTF-8
with BOM and CRLF, to a file or standard output, that imports back unchanged."""
from __future__ import annotations

import codecs
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from models.accounts import AuditEntry
from models.events import Event
from models.places import Place
from tests.conftest import ROOT
from tests.opendata_support import encode, od_base, od_env, sample  # noqa: F401 (fixtures)


def kyodo(env_db: str, *args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": env_db, "KYODO_DEMO": "", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=cwd, capture_output=True, timeout=90)


def out(proc) -> str:
    return proc.stdout.decode("utf-8")


def err(proc) -> str:
    return proc.stderr.decode("utf-8")


def count(env, model) -> int:
    with env.db() as db:
        return db.scalar(select(func.count()).select_from(model))


def test_import_twice_then_export_and_back(od_env, database_url, tmp_path):
    cp932 = tmp_path / "events_sjis.csv"
    cp932.write_bytes(encode(sample("events.csv"), "cp932"))
    first = kyodo(database_url, "events", "import", str(cp932))
    assert first.returncode == 0, err(first)
    assert "文字コード Shift_JIS（CP932）" in out(first)
    assert "追加 3件・更新 0件・変更なし 0件・取り込めない行 0件" in out(first)
    second = kyodo(database_url, "events", "import", str(cp932))
    assert second.returncode == 0 and "追加 0件・更新 0件・変更なし 3件・取り込めない行 0件" in out(second)
    with od_env.db() as db:
        entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "opendata.import")).all()
        assert [(e.actor_id, e.object_type) for e in entries] == [(None, "events")] * 2
        assert "events_sjis.csv: 追加 3件" in entries[0].summary and "（コマンドライン）" in entries[0].summary

    exported = tmp_path / "out.csv"
    proc = kyodo(database_url, "events", "export", "-o", str(exported))
    assert proc.returncode == 0 and "3件を書き出しました" in err(proc)
    data = exported.read_bytes()
    assert data.startswith(codecs.BOM_UTF8) and data.count(b"\r\n") == 4 and b"\n" not in data.replace(b"\r\n", b"")
    stdout = kyodo(database_url, "events", "export")
    assert stdout.returncode == 0 and stdout.stdout == data
    back = kyodo(database_url, "events", "import", str(exported))
    assert back.returncode == 0 and "文字コード UTF-8（BOM付き）" in out(back) and "変更なし 3件" in out(back)


def test_refused_rows_exit_1_and_are_listed(od_env, database_url, tmp_path):
    utf16 = tmp_path / "places16.csv"
    utf16.write_bytes(encode(sample("places_broken.csv"), "utf-16-le"))
    proc = kyodo(database_url, "places", "import", str(utf16))
    assert proc.returncode == 1, err(proc)
    text = out(proc)
    assert "文字コード UTF-16LE" in text and "追加 2件・更新 0件・変更なし 0件・取り込めない行 10件" in text
    assert "3行目「利用可能曜日」: 曜日として読めません（祭）" in text
    assert "7行目「緯度」: 緯度と経度が入れ替わっているようです" in text
    assert "11行目「NO」: NO「20」が2行目と重複しています。" in text
    assert count(od_env, Place) == 2


@pytest.mark.parametrize("content", [b"\x81\x20\x81\x20not a csv", b"", "名称,住所\r\nあ,い\r\n".encode()])
def test_an_unreadable_file_exits_2_and_writes_nothing(od_env, database_url, tmp_path, content):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    proc = kyodo(database_url, "events", "import", str(path))
    assert proc.returncode == 2 and "何も書き込んでいません" in err(proc)
    assert count(od_env, Event) == 0
    with od_env.db() as db:
        assert db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "opendata.import")) == 0


def test_a_missing_file_exits_2(database_url, tmp_path):
    proc = kyodo(database_url, "places", "import", str(tmp_path / "nowhere.csv"))
    assert proc.returncode == 2 and "を読めません" in err(proc)


def test_dry_run_and_organisation(od_env, database_url):
    path = str(ROOT / "tests" / "data" / "opendata" / "events.csv")
    dry = kyodo(database_url, "events", "import", path, "--dry-run")
    assert dry.returncode == 0 and "確認のみ" in out(dry) and "追加 3件" in out(dry)
    assert count(od_env, Event) == 0
    unknown = kyodo(database_url, "events", "import", path, "--organisation", "ない団体")
    assert unknown.returncode == 2 and "団体「ない団体」は登録されていません" in err(unknown)
    as_a = kyodo(database_url, "events", "import", path, "--organisation", "みどり子ども会")
    assert as_a.returncode == 0, err(as_a)
    with od_env.db() as db:
        assert set(db.scalars(select(Event.organisation_id))) == {od_env.ids["org_a"]}
    as_b = kyodo(database_url, "events", "import", path, "--organisation", "あおば自治会")
    assert as_b.returncode == 1 and out(as_b).count("ほかの団体（または市）が登録した行") == 3
    own = kyodo(database_url, "events", "export", "--organisation", "あおば自治会")
    assert own.returncode == 0 and own.stdout.count(b"\r\n") == 1  # the header only
