"""The login page does not tell which e-mail addresses have accounts: a locked account, an unknown address and
a wrong password get the same page (byte for byte, apart from the CSRF token and the typed address), the
same status, and take the same argon2 time. The owner hears of the lock-out at the next login instead, and
admins in the audit log.
"""
from __future__ import annotations

import re
import statistics
import time

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from bot.admin import auth
from tests.admin_support import CSRF_RE, PASSWORD, fresh_env

# Slow enough that argon2 dominates a request (about 50 ms here), so a path that skips it stands out even on
# a busy 2-core machine. The suite's usual hasher is cheap (4 ms), as small as a database round trip.
SLOW = PasswordHasher(time_cost=2, memory_cost=32768, parallelism=1)
ROUNDS = 7


@pytest.fixture
def env(admin_app, monkeypatch):
    monkeypatch.setattr(auth, "_CHEAP", SLOW)  # every hash made or checked in this test, dummy included
    monkeypatch.setattr(auth, "_DUMMY", {})
    return fresh_env(*admin_app)


def argon2_verify_s(stored: str) -> float:
    t0 = time.perf_counter()
    with pytest.raises(VerifyMismatchError):
        SLOW.verify(stored, "a wrong password!!")
    return time.perf_counter() - t0


def attempt(env, email: str, password: str) -> tuple[int, str, float]:
    c = env.client()
    token = c.token("/admin/login")
    t0 = time.perf_counter()
    r = c.c.post("/admin/login", data={"email": email, "password": password, "csrf_token": token})
    elapsed = time.perf_counter() - t0
    body = CSRF_RE.sub('name="csrf_token" value="TOKEN"', r.get_data(as_text=True)).replace(email, "EMAIL")
    return r.status_code, body, elapsed


def lock(env, email: str) -> None:
    for i in range(auth.MAX_FAILED_LOGINS):
        attempt(env, email, f"wrong password {i}")
    assert env.audit("login.locked"), "the account should be locked now"


def test_locked_unknown_and_wrong_password_look_the_same(env):
    lock(env, "orga@example.jp")
    # Wrong passwords rotate over four accounts so none of them reaches the lock-out during the test.
    wrong = ["admin@example.jp", "staff@example.jp", "orgb@example.jp", "survey@example.jp"]
    results: dict[str, list] = {"locked": [], "unknown": [], "wrong": []}
    stored, verify_times = SLOW.hash("some correct password"), []
    for i in range(ROUNDS):
        # Interleaved with the requests, so the yardstick is measured under the same load as they are.
        verify_times.append(argon2_verify_s(stored))
        results["locked"].append(attempt(env, "orga@example.jp", PASSWORD))  # even the right password
        results["unknown"].append(attempt(env, f"nobody{i}@example.jp", "some password here"))
        results["wrong"].append(attempt(env, wrong[i % len(wrong)], "a wrong password!!"))

    statuses = {kind: {s for s, _, _ in rs} for kind, rs in results.items()}
    assert statuses == {"locked": {200}, "unknown": {200}, "wrong": {200}}
    bodies = {kind: {b for _, b, _ in rs} for kind, rs in results.items()}
    assert all(len(b) == 1 for b in bodies.values()), "one page per kind of failure"
    locked, unknown, wrong_pw = (next(iter(bodies[k])) for k in ("locked", "unknown", "wrong"))
    assert locked == unknown == wrong_pw
    assert "ロック" not in locked and "メールアドレスかパスワードが違います。" in locked

    # Each kind takes argon2's time: none answers early. (Medians, and a fraction rather than an equality,
    # so a noisy neighbour on the machine does not make this flaky.)
    verify = statistics.median(verify_times)
    medians = {kind: statistics.median(t for _, _, t in rs) for kind, rs in results.items()}
    for kind, median in medians.items():
        assert median > 0.5 * verify, f"{kind}: {median * 1000:.1f} ms, argon2 verify {verify * 1000:.1f} ms"
    assert max(medians.values()) < 3 * min(medians.values()), medians


def test_the_owner_and_the_admins_are_told_another_way(env):
    lock(env, "orga@example.jp")
    attempt(env, "orga@example.jp", PASSWORD)
    attempt(env, "orga@example.jp", "another guess!!")
    tries = env.audit("login.locked_attempt")
    assert len(tries) == 2 and all(e.object_id == str(env.ids["orga"]) for e in tries)
    assert {e.summary for e in tries} == {"ロック中のログイン試行"}

    # An admin sees both on the audit page, in Japanese.
    page = env.signed_in("admin").get("/admin/audit?action=login.locked_attempt").get_data(as_text=True)
    assert page.count("ロック中のログイン試行") >= 2

    # The owner, at the next login after the lock ends.
    env.clock.advance(minutes=16)
    c = env.client()
    assert c.login("orga@example.jp").status_code == 302
    page = c.get("/admin/").get_data(as_text=True)
    assert "このアカウントがロックされたことがあります（記録3件）" in page
    # Told once: the login after that is quiet.
    c2 = env.client()
    assert c2.login("orga@example.jp").status_code == 302
    assert "ロックされたことがあります" not in c2.get("/admin/").get_data(as_text=True)
    assert not re.search(r"ロックされています", page)
