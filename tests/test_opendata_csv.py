"""イベント一覧 / 公共施設一覧 CSV on real SQL (SQLite and PostgreSQL): encodings told apart; a round trip
(export, then import) in each of the four encodings gives the same records and the same file; importing a
file again changes nothing; broken rows are refused with their line, column and reason while the valid rows
are written; identity by 市区町村コード + NO (or the content); organisations touch only their own rows."""
from __future__ import annotations

import codecs
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from bot.clock import TOKYO
from bot.opendata import common as C
from bot.opendata import encoding, events_csv, hours, places_csv
from bot.opendata.importer import Scope
from models.accounts import AuditEntry
from models.events import Event, EventOccurrence
from models.places import Place
from models.publications import Publication
from models.registrations import RegistrationSlot
from tests.admin_support import T0
from tests.opendata_support import (ENCODINGS, encode, events_snapshot, od_base, od_env,  # noqa: F401 (fixtures)
                                    places_snapshot, sample)

LAYOUTS = {"events": (events_csv, events_snapshot, "events.csv"), "places": (places_csv, places_snapshot, "places.csv")}
STAFF = Scope()


def run(env, layout: str, data: bytes, scope: Scope = STAFF, **kw):
    module = LAYOUTS[layout][0]
    with env.db() as db:
        report = module.import_csv(db, data, scope=scope, now=env.clock.now(), **kw)
        db.commit()
    return report


def counts(report) -> tuple[int, int, int, int]:
    return report.added, report.updated, report.unchanged, report.refused


def problems(report) -> list[tuple[int, str]]:
    return [(p.line, p.column) for p in report.problems]


def export(env, layout: str, **kw) -> bytes:
    with env.db() as db:
        return LAYOUTS[layout][0].export_csv(db, **kw)


def snapshot(env, layout: str) -> list[dict]:
    with env.db() as db:
        return LAYOUTS[layout][1](db)


# -- encodings -------------------------------------------------------------------------------------------------

TEXT = "名称,住所,緯度\r\nこども食堂①,小田原市国府津,35.279\r\n"


@pytest.mark.parametrize("data, name", [
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), encoding.UTF8_SIG),
    (TEXT.encode("utf-8"), encoding.UTF8),
    (TEXT.encode("cp932"), encoding.CP932),
    (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), encoding.UTF16LE),
    (TEXT.encode("utf-16-le"), encoding.UTF16LE),  # no BOM: the NULs in the odd bytes tell
])
def test_encoding_is_detected_and_named(data, name):
    text, found = encoding.decode(data)
    assert (text, found) == (TEXT, name)
    assert encoding.label(found) in {"UTF-8（BOM付き）", "UTF-8", "Shift_JIS（CP932）", "UTF-16LE"}


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf\r\n", b"\x81\x7f\xff\xfe\xfd" * 3, "名称".encode("utf-8")[:-1] + b"\xff"])
def test_unreadable_bytes_are_refused_not_guessed(data):
    with pytest.raises(encoding.UnreadableFile):
        encoding.decode(data)


# -- cells -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, day", [
    ("2026-12-05", date(2026, 12, 5)), ("2026/12/5", date(2026, 12, 5)), ("２０２６／１２／５", date(2026, 12, 5)),
    ("令和8年12月5日", date(2026, 12, 5)), ("令和元年5月1日", date(2019, 5, 1)), ("R8.12.5", date(2026, 12, 5)),
    ("2026年12月5日(土)", date(2026, 12, 5)), ("", None),
])
def test_dates_in_the_forms_municipal_files_use(text, day):
    assert C.parse_date(text) == day


@pytest.mark.parametrize("text, why", [("2026/13/40", "存在しない日付です（2026/13/40）"), ("2026/02/30", "存在しない日付"),
                                       ("来週", "日付として読めません"), ("0226-12-05", "2000年から2099年"),
                                       ("令和99年1月1日", "2000年から2099年")])
def test_bad_dates_say_why(text, why):
    with pytest.raises(C.CellError, match=why):
        C.parse_date(text)


def test_times():
    assert [C.parse_minutes(t) for t in ("10:00", "9:05", "10時", "10時30分", "10時半", "１０：００", "10:00:00", "")] == \
        [600, 545, 600, 630, 630, 600, 600, None]
    assert C.parse_minutes("24:00", allow_24=True) == 1440
    for bad in ("24:00", "25:00", "10:75", "十時"):
        with pytest.raises(C.CellError):
            C.parse_minutes(bad)


def test_weekly_hours_in_every_form():
    O = hours.Opening
    got, holidays = hours.parse_weekly("土 10:00-12:00 第2・第4; 水 15:00-18:00")
    assert got == [O(2, 900, 1080, 0), O(5, 600, 720, 0b10100)] and not holidays
    assert hours.parse_weekly("第1土曜 10時～12時；月・水・金 22:00-02:00")[0] == [
        O(0, 1320, 1560), O(2, 1320, 1560), O(4, 1320, 1560), O(5, 600, 720, 0b10)]
    assert hours.parse_days("月曜日～金曜日") == ([0, 1, 2, 3, 4], 0, False)
    assert hours.parse_days("平日") == ([0, 1, 2, 3, 4], 0, False)
    assert hours.parse_days("土日祝") == ([5, 6], 0, True)
    assert hours.parse_days("金-月") == ([0, 4, 5, 6], 0, False)
    assert hours.parse_standard("月;火;水", "9:00", "17:00") == ([O(0, 540, 1020), O(1, 540, 1020), O(2, 540, 1020)], False)
    assert hours.parse_standard("平日;土", "15:00;10:00", "18:00;12:00")[0][-1] == O(5, 600, 720)
    openings = hours.parse_weekly("土 10:00-12:00 第2・第4; 月・水・金 15:00-18:00; 日 22:00-26:00")[0]
    for text in (hours.format_weekly(openings),):
        assert hours.parse_weekly(text)[0] == openings
    assert hours.parse_standard(*hours.format_standard(openings))[0] == openings
    with pytest.raises(C.CellError):
        hours.parse_days("祭")
    with pytest.raises(C.CellError):
        hours.parse_weekly("月 10:00-10:00:00")


# -- round trips ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("enc", ENCODINGS)
@pytest.mark.parametrize("layout", ["events", "places"])
def test_round_trip_in_each_encoding(od_env, layout, enc):
    assert counts(run(od_env, layout, sample(LAYOUTS[layout][2]))) == (3, 0, 0, 0)
    first = export(od_env, layout)
    records = snapshot(od_env, layout)
    assert first.startswith(codecs.BOM_UTF8) and b"\r\n" in first and b"\n" not in first.replace(b"\r\n", b"")

    # Into an empty database: the same records, the same file.
    from tests.opendata_support import clear_listings
    clear_listings(od_env.rt)
    data = encode(first, enc)
    report = run(od_env, layout, data)
    assert report.encoding == {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "cp932": "cp932", "utf-16-le": "utf-16-le"}[enc]
    assert counts(report) == (3, 0, 0, 0), report.problems
    assert snapshot(od_env, layout) == records
    assert export(od_env, layout) == first
    # And again: nothing changes.
    assert counts(run(od_env, layout, data)) == (0, 0, 3, 0)
    assert snapshot(od_env, layout) == records


def test_utf16_without_bom_is_read(od_env):
    report = run(od_env, "places", encode(sample("places.csv"), "utf-16-le", bom=False))
    assert report.encoding == "utf-16-le" and counts(report) == (3, 0, 0, 0)


def test_rows_written_here_come_back_as_themselves(od_env):
    """A row from the admin (no external key) is exported as NO kyodo-<id>: edited in Excel and imported, it
    updates that row rather than adding a copy; into an empty database it is added once, and stays one."""
    with od_env.db() as db:
        ev = Event(title="管理画面で作ったイベント", starts_at=datetime(2026, 12, 19, 1, 0, tzinfo=timezone.utc),
                   ends_at=datetime(2026, 12, 19, 3, 0, tzinfo=timezone.utc), district="kozu", status="published",
                   created_at=T0, updated_at=T0, tags=["食", "親子"], rrule="FREQ=WEEKLY;BYDAY=SA;COUNT=4",
                   cost_kind="per_meal", cost_yen=300, age_min=6, age_max=12, project=3, action=303)
        db.add(ev)
        db.commit()
        ev_id = ev.id
    data = export(od_env, "events")
    assert f",kyodo-{ev_id},".encode() in data
    before = snapshot(od_env, "events")
    assert counts(run(od_env, "events", data)) == (0, 0, 1, 0)
    edited = data.replace("管理画面で作ったイベント".encode(), "名前を直したイベント".encode())
    assert counts(run(od_env, "events", edited)) == (0, 1, 0, 0)
    with od_env.db() as db:
        [ev] = db.scalars(select(Event)).all()
        assert (ev.id, ev.title, ev.external_key) == (ev_id, "名前を直したイベント", None)
        assert db.scalar(select(func.count()).select_from(EventOccurrence)) == 4
    from tests.opendata_support import clear_listings
    clear_listings(od_env.rt)
    assert counts(run(od_env, "events", data)) == (1, 0, 0, 0)
    assert counts(run(od_env, "events", data)) == (0, 0, 1, 0)
    [after] = snapshot(od_env, "events")
    assert after == {**before[0], "external_key": f"142069-kyodo-{ev_id}"}
    assert export(od_env, "events") == data


# -- broken files ---------------------------------------------------------------------------------------------------

def test_broken_events_are_refused_with_line_and_column_and_the_rest_imported(od_env):
    report = run(od_env, "events", sample("events_broken.csv"))
    assert problems(report) == [(3, "開始日"), (4, "終了日"), (5, "（行全体）"), (6, "緯度"), (7, "緯度"), (8, "地区"),
                                (9, "定員"), (10, "NO"), (11, "開始時間")]
    reasons = [p.reason for p in report.problems]
    assert "存在しない日付です（2026/13/40）" in reasons[0]
    assert "前です" in reasons[1]
    assert "見出し 33列、この行 8列" in reasons[2]
    assert "数として読めません（北緯35度）" in reasons[3]
    assert "市の範囲の外です" in reasons[4]
    assert "アトランティス" in reasons[5]
    assert "1以上" in reasons[6]
    assert "NO「10」が2行目と重複" in reasons[7]
    assert counts(report) == (2, 0, 0, 9)
    with od_env.db() as db:
        titles = {e.title: e for e in db.scalars(select(Event))}
        assert set(titles) == {"正しい行", "正しい行その2"}
        two = titles["正しい行その2"]
        assert two.starts_at.astimezone(TOKYO) == datetime(2026, 12, 20, 13, 0, tzinfo=TOKYO)
        assert two.ends_at.astimezone(TOKYO) == datetime(2026, 12, 20, 15, 30, tzinfo=TOKYO)
        assert titles["正しい行"].district == "kozu" and two.district is None
    again = run(od_env, "events", sample("events_broken.csv"))
    assert counts(again) == (0, 0, 2, 9) and problems(again) == problems(report)


def test_broken_places_are_refused_with_line_and_column_and_the_rest_imported(od_env):
    report = run(od_env, "places", sample("places_broken.csv"))
    assert problems(report) == [(3, "利用可能曜日"), (4, "終了時間"), (5, "開所時間"), (6, "経度"), (7, "緯度"), (8, "地区"),
                                (9, "地区"), (10, "（行全体）"), (11, "NO"), (12, "URL")]
    assert "入れ替わっている" in report.problems[4].reason
    assert counts(report) == (2, 0, 0, 10)
    with od_env.db() as db:
        places = {p.name: p for p in db.scalars(select(Place))}
        assert set(places) == {"正しい居場所", "住所から地区"}
        assert sorted((h.weekday, h.opens, h.closes, h.weeks) for h in places["正しい居場所"].hours) == \
            [(2, 900, 1080, 0), (5, 600, 720, 0b10100)]
        assert places["住所から地区"].district == "kozu"  # from the address: no lat/lon, no 地区 cell
        assert [h.weekday for h in places["住所から地区"].hours] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("header", [
    "名称,住所\r\n",  # an events file without イベント名 / 開始日
    "イベント名,開始日,開始日\r\n",
])
def test_a_file_that_is_not_the_layout_writes_nothing(od_env, header):
    with od_env.db() as db:
        with pytest.raises(C.FileProblem, match="見出し"):
            events_csv.import_csv(db, header.encode() + "a,b,c\r\n".encode(), scope=STAFF, now=T0)


def test_an_unclosed_quote_is_reported_and_what_came_before_kept(od_env):
    data = sample("events.csv").decode() + '142069,9,神奈川県,小田原市,"閉じていない,,,2026-12-05\r\n'
    report = run(od_env, "events", data.encode())
    assert counts(report) == (3, 0, 0, 1) and problems(report) == [(5, "（行全体）")]


def test_a_row_that_spans_lines_is_counted_from_its_first_line(od_env):
    head = sample("events.csv").decode().splitlines()[0]
    data = (head + "\r\n" + '142069,1,,,"二行の\r\n名前",,,2026-12-05,,10:00,,,,無料' + ",," * 9 + "\r\n"
            + "142069,2,,,次の行,,,2026/12/32,,,,,,無料" + ",," * 9 + "\r\n")
    report = run(od_env, "events", data.encode())
    assert problems(report) == [(4, "開始日")] and report.added == 1


def test_nothing_is_written_for_a_dry_run(od_env):
    report = run(od_env, "events", sample("events.csv"), dry_run=True)
    assert counts(report) == (3, 0, 0, 0) and report.dry_run
    with od_env.db() as db:
        assert db.scalar(select(func.count()).select_from(Event)) == 0
        assert db.scalar(select(func.count()).select_from(Publication)) == 0


# -- what an import does beyond the row ---------------------------------------------------------------------------

def test_an_update_changes_the_row_its_dates_and_revision(od_env):
    run(od_env, "events", sample("events.csv"))
    moved = sample("events.csv").decode().replace("2026-12-05,2026-12-05,10:00,12:00", "2026-12-06,2026-12-06,13:00,15:00")
    assert counts(run(od_env, "events", moved.encode())) == (0, 1, 2, 0)
    with od_env.db() as db:
        ev = db.scalar(select(Event).where(Event.external_key == "142069-1"))
        assert ev.revision == 2 and ev.starts_at.astimezone(TOKYO) == datetime(2026, 12, 6, 13, 0, tzinfo=TOKYO)
        [occ] = db.scalars(select(EventOccurrence).where(EventOccurrence.event_id == ev.id)).all()
        assert occ.starts_at.astimezone(TOKYO).hour == 13 and occ.visible and occ.district == "kozu"


def test_registration_capacity_cost_and_announcements(od_env):
    report = run(od_env, "events", sample("events.csv"))
    with od_env.db() as db:
        ev = db.scalar(select(Event).where(Event.external_key == "142069-1"))
        assert (ev.registration_required, ev.capacity, ev.cost_kind, ev.cost_yen) == (True, 20, "amount", 500)
        assert ev.registration_deadline.astimezone(TOKYO) == datetime(2026, 12, 1, 17, 0, tzinfo=TOKYO)
        slot = db.scalar(select(RegistrationSlot).where(RegistrationSlot.kind == "event", RegistrationSlot.ref_id == ev.id))
        assert slot is not None and slot.capacity == 20 and slot.open
        free = db.scalar(select(Event).where(Event.external_key == "142069-2"))
        assert (free.cost_kind, free.registration_required, free.district) == ("free", False, "saiwai")
        mochi = db.scalar(select(Event).where(Event.external_key == "142069-3"))
        assert (mochi.all_day, mochi.cost_kind, mochi.cost_yen, mochi.district) == (True, "amount", None, None)
        # New published listings with a 地区 are told to its subscribers once (the one without a 地区 is not).
        refs = sorted(db.scalars(select(Publication.ref)))
        assert refs == sorted(f"listing:events:{e.id}" for e in (ev, free))
    assert report.added == 3
    run(od_env, "events", sample("events.csv"))
    with od_env.db() as db:
        assert db.scalar(select(func.count()).select_from(Publication)) == 2


def test_no_announcement_when_told_not_to(od_env):
    run(od_env, "places", sample("places.csv"), announce=False)
    with od_env.db() as db:
        assert db.scalar(select(func.count()).select_from(Publication)) == 0
        assert db.scalar(select(func.count()).select_from(Place)) == 3


def test_capacity_below_confirmed_registrations_is_refused(od_env):
    run(od_env, "events", sample("events.csv"))
    with od_env.db() as db:
        ev = db.scalar(select(Event).where(Event.external_key == "142069-1"))
        slot = db.scalar(select(RegistrationSlot).where(RegistrationSlot.ref_id == ev.id))
        slot.confirmed = 5  # five residents hold a place
        db.commit()
    smaller = sample("events.csv").decode().replace(",20人,", ",3人,")
    report = run(od_env, "events", smaller.encode())
    assert problems(report) == [(2, "定員")] and "5人" in report.problems[0].reason
    assert counts(report) == (0, 0, 2, 1)


def test_identity_without_no_is_stable(od_env):
    data = sample("events.csv").decode().replace("142069,1,", "142069,,").replace("142069,2,", "142069,,")
    assert counts(run(od_env, "events", data.encode())) == (3, 0, 0, 0)
    assert counts(run(od_env, "events", data.encode())) == (0, 0, 3, 0)
    with od_env.db() as db:
        keys = sorted(db.scalars(select(Event.external_key)))
    assert keys[0] == "142069-3" and all(k.startswith("142069-h") for k in keys[1:])


def test_places_extra_columns(od_env):
    head = ",".join(places_csv.COLUMNS + places_csv.EXTRA)
    cells = dict.fromkeys(places_csv.COLUMNS + places_csv.EXTRA, "")
    cells.update({"NO": "7", "名称": "みんなの居場所", "住所": "小田原市栄町", "種別": "遊び場", "地区": "緑",
                  "対象年齢(下限)": "6歳", "対象年齢(上限)": "12", "料金区分": "1食あたり", "料金(基本)": "300円",
                  "予約": "要", "関連アクション": "303", "状態": "下書き", "開所時間": "土 10:00-12:00 第2・第4; 水 15:00-18:00",
                  "利用可能曜日": "月", "開始時間": "9:00", "終了時間": "10:00",  # the extra column wins
                  "祝日休み": "いいえ", "年末年始休み": "はい", "休業日": "2026/12/5;令和9年1月9日",
                  "臨時開所日": "2026-12-26 10:00-12:00", "最終確認日": "2026-11-01"})
    data = (head + "\r\n" + ",".join(cells.values()) + "\r\n").encode("cp932")
    assert counts(run(od_env, "places", data)) == (1, 0, 0, 0)
    with od_env.db() as db:
        p = db.scalar(select(Place))
        assert (p.kind, p.district, p.age_min, p.age_max, p.cost_kind, p.cost_yen, p.booking_required) == \
            ("play", "midori", 6, 12, "per_meal", 300, True)
        assert (p.project, p.action, p.status, p.closed_on_holidays, p.closed_year_end) == (3, 303, "draft", False, True)
        assert p.closed_dates == ["2026-12-05", "2027-01-09"] and p.verified_on == date(2026, 11, 1)
        assert p.extra_dates == [{"date": "2026-12-26", "open": "10:00", "close": "12:00"}]
        assert sorted((h.weekday, h.opens, h.closes, h.weeks) for h in p.hours) == [(2, 900, 1080, 0), (5, 600, 720, 20)]


@pytest.mark.parametrize("change, column, why", [
    ({"関連アクション": "999"}, "関連アクション", "計画にないアクション番号"),
    ({"関連プロジェクト": "1", "関連アクション": "303"}, "関連アクション", "プロジェクト 3 のもの"),
    ({"対象年齢(下限)": "12", "対象年齢(上限)": "6"}, "対象年齢(上限)", "下限"),
    ({"料金区分": "無料", "料金(基本)": "300円"}, "料金(基本)", "無料"),
    ({"種別": "図書館"}, "種別", "こども食堂"),
    ({"状態": "公開中かも"}, "状態", "公開"),
    ({"名称": ""}, "名称", "入力してください"),
    ({"名称": "あ" * 201}, "名称", "200文字以内"),
    ({"休業日": "2026-12-05;明日"}, "休業日", "日付として読めません"),
    ({"予約": "たぶん"}, "予約", "要"),
    ({"NO": "kyodo-1"}, "NO", "別の番号"),
])
def test_extra_columns_refused_with_reasons(od_env, change, column, why):
    run(od_env, "places", sample("places.csv"))  # row id 1 has external key 142069-1
    cells = dict.fromkeys(places_csv.COLUMNS + places_csv.EXTRA, "")
    cells.update({"NO": "8", "名称": "居場所", "地区": "kozu"}, **change)
    data = (",".join(cells) + "\r\n" + ",".join(cells.values()) + "\r\n").encode()
    with od_env.db() as db:
        first = db.scalar(select(func.min(Place.id)))
    if change.get("NO") == "kyodo-1":
        data = data.replace(b"kyodo-1", f"kyodo-{first}".encode())
    report = run(od_env, "places", data)
    assert problems(report) == [(2, column)] and why in report.problems[0].reason, report.problems


# -- organisations --------------------------------------------------------------------------------------------------

def test_an_organisation_creates_and_updates_only_its_own_rows(od_env):
    a, b = od_env.ids["org_a"], od_env.ids["org_b"]
    as_a, as_b = Scope(organisation_id=a, own_only=True), Scope(organisation_id=b, own_only=True)
    assert counts(run(od_env, "events", sample("events.csv"), as_a)) == (3, 0, 0, 0)
    with od_env.db() as db:
        assert set(db.scalars(select(Event.organisation_id))) == {a}
    changed = sample("events.csv").decode().replace("国府津 親子料理教室", "乗っ取り").encode()
    report = run(od_env, "events", changed, as_b)
    assert counts(report) == (0, 0, 0, 3) and {p.column for p in report.problems} == {"NO"}
    assert "ほかの団体" in report.problems[0].reason
    # Its own export holds none of them; A's holds all three.
    with od_env.db() as db:
        assert events_csv.export_csv(db, organisation_id=b, own_only=True).count(b"\r\n") == 1
        assert events_csv.export_csv(db, organisation_id=a, own_only=True).count(b"\r\n") == 4
        assert db.scalar(select(func.count()).select_from(Event).where(Event.title == "乗っ取り")) == 0
    # A changes its own; the city's staff may change anyone's, and the owner stays A.
    assert counts(run(od_env, "events", changed, as_a)) == (0, 1, 2, 0)
    back = sample("events.csv")
    assert counts(run(od_env, "events", back, STAFF)) == (0, 1, 2, 0)
    with od_env.db() as db:
        assert set(db.scalars(select(Event.organisation_id))) == {a}


def test_rows_the_city_imported_are_not_an_organisations(od_env):
    run(od_env, "places", sample("places.csv"))
    report = run(od_env, "places", sample("places.csv"), Scope(organisation_id=od_env.ids["org_a"], own_only=True))
    assert counts(report) == (0, 0, 0, 3)


def test_listings_waiting_for_approval(od_env):
    scope = Scope(organisation_id=od_env.ids["org_a"], own_only=True, allow_publish=False)
    run(od_env, "places", sample("places.csv"), scope)
    with od_env.db() as db:
        assert set(db.scalars(select(Place.status))) == {"pending"}
        assert db.scalar(select(func.count()).select_from(Publication)) == 0
        db.execute(Place.__table__.update().values(status="published"))  # the city approved them
        db.commit()
    assert counts(run(od_env, "places", sample("places.csv"), scope)) == (0, 0, 3, 0)  # and they stay published


def test_no_audit_entry_from_the_library_itself(od_env):
    """The CLI and the admin write the audit entry with the import (tests/test_opendata_cli.py, _admin.py)."""
    run(od_env, "events", sample("events.csv"))
    with od_env.db() as db:
        assert db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "opendata.import")) == 0


def test_cells_excel_would_run_as_formulas_are_exported_as_text_and_come_back(od_env):
    with od_env.db() as db:
        db.add(Event(title='=HYPERLINK("https://example.com","開く")', starts_at=datetime(2026, 12, 19, 1, 0, tzinfo=timezone.utc),
                     phone="+81-465-00-0000", note="@メモ", district="kozu", status="draft", created_at=T0, updated_at=T0,
                     tags=[]))
        db.commit()
    data = export(od_env, "events")
    assert b",'=HYPERLINK(" in data.replace(b'"', b"") and b",'+81-465-00-0000," in data and b",'@\xe3" in data
    before = snapshot(od_env, "events")
    assert counts(run(od_env, "events", data)) == (0, 0, 1, 0)
    assert snapshot(od_env, "events") == before


NASTY = ["", " ", "0", "-1", "99999999999999999999", "1e400", "nan", "NaN", "inf", "35.2", "139.2", "2026-12-05",
         "0001-01-01", "9999/12/31", "令和99年1月1日", "令和元年2月29日", "24:00", "23:59", "10時半", "25時", "月;火",
         "第9土曜", "土 22:00-02:00", "月 10:00-10:00", "無料", "有料", "¥1,000", "1食あたり", "要", "不要", "kozu",
         "国府津地区", "303", "中止", "kyodo-1", "kyodo-99999999999", "FREQ=WEEKLY;COUNT=3", "FREQ=SECONDLY",
         "RRULE:FREQ=DAILY;UNTIL=20261231T000000Z", "\x00", "a\x07b", "改行\nあり", "😀" * 60, "あ" * 301,
         "=1+1", "'=1+1", "javascript:alert(1)", "https://example.jp/" + "a" * 490, "\"", "x" * 10_001]


@pytest.mark.parametrize("layout", ["events", "places"])
def test_any_cell_content_gives_a_report_never_an_error(od_env, layout):
    """Random nasty cells in every column (a fixed seed): the import answers with counts and problems, and
    what it writes the database accepts (PostgreSQL's lengths, NUL, integer ranges, the CHECK constraints)."""
    import csv
    import io
    import random

    module = LAYOUTS[layout][0]
    columns = module.COLUMNS + module.EXTRA
    rng = random.Random(16)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(columns)
    for i in range(150):
        row = [rng.choice(NASTY) if rng.random() < 0.04 else "" for _ in columns]
        row[columns.index("NO")] = str(i) if rng.random() < 0.9 else rng.choice(NASTY)
        name = "イベント名" if layout == "events" else "名称"
        row[columns.index(name)] = rng.choice([f"行{i}"] * 10 + NASTY[:3])
        if layout == "events":
            row[columns.index("開始日")] = rng.choice(["2026-12-05", "2026/12/6"] * 20 + NASTY)
        elif rng.random() < 0.8:
            row[columns.index("地区")] = "kozu"
        w.writerow(row)
    data = buf.getvalue().encode("utf-8")
    report = run(od_env, layout, data)
    blank = sum(1 for line in data.decode().split("\r\n")[1:] if line and not line.replace(",", "").strip())
    assert report.added + report.refused + blank == 150 and report.added > 20 and report.refused > 20
    assert all(p.line >= 2 and p.column and p.reason for p in report.problems)
    again = run(od_env, layout, data)
    assert (again.added, again.updated, again.unchanged) == (0, 0, report.added)


def test_every_problem_of_a_row_is_reported(od_env):
    cells = dict.fromkeys(events_csv.COLUMNS + events_csv.EXTRA, "")
    cells.update({"NO": "1", "イベント名": "", "開始日": "2026-12-05", "終了日": "2026-12-04", "緯度": "35.2", "経度": "東",
                  "定員": "0", "地区": "どこか"})
    data = (",".join(cells) + "\r\n" + ",".join(cells.values()) + "\r\n").encode()
    report = run(od_env, "events", data)
    assert problems(report) == [(2, "イベント名"), (2, "終了日"), (2, "定員"), (2, "経度"), (2, "地区")]
    assert report.refused == 1
