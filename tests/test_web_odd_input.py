"""Odd input on every web page never gets a 500: NUL bytes, lone surrogates, 20-digit and negative numbers,
year 9999, CRLF, 10,000 characters and emoji, in paths, query strings and form fields, for an anonymous
visitor and for a signed-in admin. A refusal is 400/404/405 (or a form's 422) with the site's own Japanese
error page.

Routes and forms are not listed by hand: every GET rule in app.url_map is walked, and every form on every
admin page is found by reading the page, so a new page or field is covered without editing this file.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest

from tests.admin_support import CSRF_RE, PASSWORD, Client

# name -> (as it goes in a URL (percent-encoded bytes), as raw form-body bytes)
ODD: dict[str, str] = {
    "nul": "%00",
    "surrogate": "%ED%A0%80",  # "\ud800" as UTF-8 would encode it (invalid UTF-8)
    "twenty_digits": "99999999999999999999",
    "negative": "-1",
    "big_negative": "-99999999999999999999",
    "year_9999": "9999-12-31",
    "year_1": "0001-01-01",
    "crlf": "%0D%0ALocation:%20https://evil.example/",
    "long": "a" * 10_000,
    "emoji": "%F0%9F%98%80",
    "control": "%1B%5B31m",
}
ERROR_STATUSES = {400, 403, 404, 405, 413}
ACCEPTED = {200, 201, 301, 302, 303, 308, 400, 403, 404, 405, 413, 422, 503}


def raw_path(encoded: str) -> str:
    """The PATH_INFO a WSGI server hands over for these percent-encoded bytes (latin-1 text of the raw bytes)."""
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(encoded).decode("latin-1")


class Forms(HTMLParser):
    """The forms of a page: method, action, and each field's name and first/selected value."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"method": (a.get("method") or "get").lower(), "action": a.get("action"), "fields": {}})
        elif not self.forms:
            return
        elif tag in ("input", "textarea") and a.get("name") and a.get("type") not in ("submit", "button"):
            self.forms[-1]["fields"].setdefault(a["name"], a.get("value") or "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self.forms[-1]["fields"][a["name"]] = None
        elif tag == "option" and self._select:
            fields = self.forms[-1]["fields"]
            if fields[self._select] is None or "selected" in a:
                fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def forms_of(html: str) -> list[dict]:
    p = Forms()
    p.feed(html)
    return p.forms


def check(resp, what: str, problems: list[str]) -> None:
    status = resp.status_code
    if status not in ACCEPTED:
        problems.append(f"{what}: {status}")
        return
    if status in ERROR_STATUSES:
        body = resp.get_data(as_text=True)
        if not ('<html lang="ja"' in body and f'data-status="{status}"' in body):
            problems.append(f"{what}: {status} without the site's Japanese error page: {body[:120]!r}")


def call(client, method: str, problems: list[str], what: str, **kw):
    """A request; an exception escaping the app (TESTING propagates them) is the 500 it would have been."""
    try:
        resp = getattr(client, method)(**kw)
    except Exception as e:  # noqa: BLE001 - recorded as the failure it is
        problems.append(f"{what}: 500 ({type(e).__name__})")
        return None
    check(resp, what, problems)
    return resp


def sample_args(rule, env) -> dict[str, str]:
    """A valid value per URL argument, so only one argument at a time is odd."""
    ids = env.ids
    values = {}
    for arg in rule.arguments:
        if arg == "item_id":
            if "notice" in rule.rule:
                values[arg] = str(ids["notice_a"])
            elif "organisation" in rule.rule:
                values[arg] = str(ids["org_a"])
            elif "survey" in rule.rule:
                values[arg] = str(ids["team"])
            else:
                values[arg] = str(ids["orga"])
        elif arg == "filename":
            values[arg] = "css/kyodo.css"
        else:
            values[arg] = "1"
    return values


def build_path(rule, values: dict[str, str]) -> str:
    """The rule's path with these (already percent-encoded) argument values."""
    path = rule.rule
    for arg in rule.arguments:
        path = re.sub(r"<(?:[^:<>]+:)?" + re.escape(arg) + ">", values[arg], path)
    return path


def get_rules(app):
    return [r for r in app.url_map.iter_rules() if "GET" in r.methods]


def walk_get_routes(env, client: Client, problems: list[str]) -> int:
    n = 0
    for rule in get_rules(env.app):
        base = sample_args(rule, env)
        for name, odd in ODD.items():
            for arg in rule.arguments:
                path = build_path(rule, {**base, arg: "__ODD__"})
                head, _, tail = path.partition("__ODD__")
                # The raw bytes go to the app as a server would pass them (the test client would re-encode).
                environ = {"PATH_INFO": raw_path(head + odd + tail)}
                call(client.c, "get", problems, f"GET {rule.rule} {arg}={name}", path="/", environ_overrides=environ)
                n += 1
            path = build_path(rule, base)
            query = "&".join(f"{k}={odd}" for k in ("next", "page", "since", "until", "actor", "action", "q"))
            call(client.c, "get", problems, f"GET {rule.rule}?…={name}", path=f"{path}?{query}")
            n += 1
    return n


@pytest.fixture
def env(admin_env):
    """The admin fixtures' database with the city's plan loaded, so the public pages show real content."""
    from bot.plan_loader import default_plan_path, load

    load(admin_env.rt.sessions, default_plan_path(admin_env.rt.config.city), admin_env.rt.now())
    return admin_env


def test_every_get_route_for_an_anonymous_visitor(env):
    problems: list[str] = []
    n = walk_get_routes(env, env.client(), problems)
    assert n > 100
    assert not problems, f"{len(problems)} of {n}:\n" + "\n".join(problems[:40])


def test_every_get_route_for_a_signed_in_admin(env):
    problems: list[str] = []
    c = env.signed_in("admin")
    n = walk_get_routes(env, c, problems)
    assert not problems, f"{len(problems)} of {n}:\n" + "\n".join(problems[:40])
    assert c.get("/admin/").status_code == 200  # still signed in: nothing above ended the session


def admin_pages(env) -> list[str]:
    """Every admin page an admin can open (GET rules with their sample arguments)."""
    return [build_path(r, sample_args(r, env)) for r in get_rules(env.app)
            if r.rule.startswith("/admin") and r.endpoint != "admin.login"]


def body_for(fields: dict, odd_field: str | None, odd: str, n: int) -> bytes:
    """A urlencoded body: plausible values, the odd one in `odd_field` as raw percent-encoded bytes."""
    parts = []
    for k, v in fields.items():
        if k == odd_field:
            parts.append(f"{quote(k)}={odd}")
            continue
        if not v and "email" in k:
            v = f"odd{n}@example.jp"
        elif not v and k not in ("csrf_token",):
            v = "テスト"
        parts.append(f"{quote(k)}={quote(v)}")
    return "&".join(parts).encode()


def test_every_admin_form_with_odd_values(admin_env):
    c = admin_env.signed_in("admin")
    seen: set[tuple] = set()
    problems: list[str] = []
    n = 0
    for page in admin_pages(admin_env):
        html = c.get(page).get_data(as_text=True)
        token = (CSRF_RE.search(html) or CSRF_RE.search(c.get("/admin/").get_data(as_text=True))).group(1)
        for form in forms_of(html):
            action = form["action"] or page
            key = (form["method"], urlsplit(action).path, tuple(sorted(form["fields"])))
            if key in seen:
                continue
            seen.add(key)
            for field in form["fields"]:
                for name, odd in ODD.items():
                    n += 1
                    what = f"{form['method'].upper()} {action} {field}={name}"
                    if form["method"] == "get":
                        query = body_for(form["fields"], field, odd, n).decode()
                        call(c.c, "get", problems, what, path=f"{action}?{query}")
                        continue
                    fields = {**form["fields"], "csrf_token": token} if "csrf_token" in form["fields"] else form["fields"]
                    call(c.c, "post", problems, what, path=action, data=body_for(fields, field, odd, n),
                         content_type="application/x-www-form-urlencoded")
    assert len(seen) >= 8 and n > 200
    assert not problems, f"{len(problems)} of {n}:\n" + "\n".join(problems[:40])
    assert c.get("/admin/").status_code == 200


def test_login_form_and_its_next_parameter(admin_env):
    problems: list[str] = []
    for name, odd in ODD.items():
        for field in ("email", "password"):
            c = admin_env.client()
            fields = {"csrf_token": c.token("/admin/login"), "email": "admin@example.jp", "password": PASSWORD}
            call(c.c, "post", problems, f"POST /admin/login {field}={name}", path="/admin/login",
                 data=body_for(fields, field, odd, 0), content_type="application/x-www-form-urlencoded")
        # The right password with an odd `next`: the redirect must stay inside /admin and be a valid header.
        for nxt in (odd, "/admin/" + odd):
            c = admin_env.client()
            fields = {"csrf_token": c.token("/admin/login"), "email": "admin@example.jp", "password": PASSWORD}
            resp = call(c.c, "post", problems, f"POST /admin/login?next={name}", path=f"/admin/login?next={nxt}",
                        data=body_for(fields, None, "", 0), content_type="application/x-www-form-urlencoded")
            if resp is not None and resp.status_code in (302, 303):
                location = resp.headers["Location"]
                assert location.startswith("/admin/") and not re.search(r"[\x00-\x20\x7f]", location), location
    assert not problems, "\n".join(problems)


def test_post_routes_with_odd_path_arguments(admin_env):
    c = admin_env.signed_in("admin")
    problems: list[str] = []
    rules = [r for r in admin_env.app.url_map.iter_rules() if "POST" in r.methods and r.arguments]
    assert rules
    for rule in rules:
        for name, odd in ODD.items():
            path = build_path(rule, {arg: "__ODD__" for arg in rule.arguments})
            environ = {"PATH_INFO": raw_path(path.replace("__ODD__", odd))}
            call(c.c, "post", problems, f"POST {rule.rule} {name}", path="/", environ_overrides=environ,
                 data={"csrf_token": c.token()})
    assert not problems, "\n".join(problems)


def test_the_reported_cases(env):
    """The cases found by hand in step 3's review, each by name."""
    admin_env = env
    anon, admin = admin_env.client(), admin_env.signed_in("admin")
    assert anon.c.get("/plan/1").status_code == 200
    assert anon.c.get("/plan/%00").status_code == 400
    assert anon.c.get("/plan/99999999999999999999").status_code == 404
    assert anon.c.get("/plan/actions/99999999999999999999").status_code == 404
    assert anon.c.get("/plan/%C2%B2").status_code == 404  # "²" is a digit to str.isdigit(), not to int()
    assert admin.c.get("/admin/accounts/99999999999999999999/edit").status_code == 404
    r = admin.c.get("/admin/audit?until=9999-12-31")
    assert r.status_code == 200 and "日付" in r.get_data(as_text=True)
    r = admin.c.get("/admin/audit?since=2026-11-01&until=2026-11-30")
    assert r.status_code == 200
    c = admin_env.client()
    r = c.c.post("/admin/login?next=/admin/%0D%0ALocation:%20https://evil.example/",
                 data={"csrf_token": c.token("/admin/login"), "email": "admin@example.jp", "password": PASSWORD})
    assert r.status_code == 400 and 'data-status="400"' in r.get_data(as_text=True)
    assert "Location" not in r.headers
