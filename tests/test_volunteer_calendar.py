"""/volunteer/shifts/<id>.ics: a published opportunity's shift as a calendar event (the カレンダーに追加 of a
sign-up on LINE); unpublished or unknown shifts are 404, and nothing about who signed up is in it."""
from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime

from icalendar import Calendar

from bot.clock import TOKYO
from tests.volunteer_support import add_opportunity, add_shift

NOW = datetime(2026, 6, 3, 12, 0, tzinfo=TOKYO)


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, b"", ""


def test_a_shift_calendar_in_tokyo_time_and_404_when_not_published(bot):
    bot.clock.set(NOW)
    with bot.rt.sessions() as db:
        opp = add_opportunity(db, NOW, "海岸清掃", district="kozu", place_name="国府津海岸")
        shift = add_shift(db, opp, NOW, datetime(2026, 6, 6, 7, 0, tzinfo=TOKYO), hours=2, capacity=5)
        draft = add_opportunity(db, NOW, "下書き", status="draft")
        hidden = add_shift(db, draft, NOW, datetime(2026, 6, 7, 9, 0, tzinfo=TOKYO), hours=1, capacity=5)
        db.commit()
        sid, hid = shift.id, hidden.id
    status, body, ctype = _get(f"{bot.url}/volunteer/shifts/{sid}.ics")
    assert status == 200 and ctype.startswith("text/calendar")
    (ev,) = [c for c in Calendar.from_ical(body).walk("VEVENT")]
    assert str(ev["summary"]) == "ボランティア: 海岸清掃" and "国府津海岸" in str(ev["location"])
    start = ev.decoded("dtstart")
    assert (start.astimezone(TOKYO).hour, start.astimezone(TOKYO).day) == (7, 6)
    assert ev.decoded("dtend") - start == (datetime(2026, 6, 6, 9, 0, tzinfo=TOKYO) - datetime(2026, 6, 6, 7, 0, tzinfo=TOKYO))
    assert _get(f"{bot.url}/volunteer/shifts/{hid}.ics")[0] == 404
    assert _get(f"{bot.url}/volunteer/shifts/999999.ics")[0] == 404
