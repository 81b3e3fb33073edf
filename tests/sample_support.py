"""What the sample loaders' tests share (tests/test_sample_data.py, tests/test_volunteer_samples.py): the fixed
day, a snapshot of every row a loader writes, a resident of no sample, a file rewritten for one test, and the
checks every loader must pass (a key held by a non-sample row refuses the whole load; nothing reaches residents)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, inspect, select

from bot import sample_data as S
from bot.clock import TOKYO, utc
from models.outbox import OutboxMessage
from models.publications import Publication
from models.subscriptions import SubscribedDistrict
from models.users import User

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=TOKYO)  # a Thursday morning


def plain(v):
    """A value compared across databases: datetimes in UTC (SQLite gives them back naive)."""
    return utc(v) if isinstance(v, datetime) else v


def snapshot(bot, models, *, skip=lambda model, column: False) -> dict:
    """Every column (but those skip names) of every row of the models, by table."""
    out = {}
    with bot.rt.sessions() as db:
        for model in models:
            cols = [c.key for c in inspect(model).mapper.column_attrs if not skip(model, c.key)]
            rows = [tuple(plain(getattr(r, c)) for c in cols) for r in db.scalars(select(model))]
            out[model.__tablename__] = sorted(rows, key=repr)
    return out


def add_resident(bot) -> tuple[int, str]:
    from emulator import new_user_id

    now = bot.rt.now()
    with bot.rt.sessions() as db:
        user = User(line_user_id=new_user_id(), active=True, created_at=now, followed_at=now)
        db.add(user)
        db.commit()
        return user.id, user.line_user_id


def rewritten(tmp_path, path: Path, change) -> Path:
    """A copy of a sample file in tmp_path, its data first passed to change (which edits it in place)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    copy = tmp_path / path.name
    copy.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return copy


def assert_refused_as_a_whole(bot, load, take_snapshot, key: str) -> None:
    """Loading, while a non-sample row holds the file's `key`, raises and writes nothing."""
    snap = take_snapshot(bot)
    with pytest.raises(S.SampleDataError, match=f"{key} belongs to a row that is not sample data"):
        load()
    assert take_snapshot(bot) == snap


def assert_nothing_published(bot, emulator, load) -> None:
    """A resident following 国府津 (where samples are) hears nothing when load() runs, twice over."""
    uid, line_id = add_resident(bot)
    with bot.rt.sessions() as db:
        db.add(SubscribedDistrict(user_id=uid, district="kozu"))
        db.commit()
    load()
    bot.settle()
    with bot.rt.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Publication)) == 0
        assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert emulator.sent(user=line_id) == []
