"""Authorisation for every admin route, found by walking the URL map: a new /admin route without a policy
rule fails here, and so does one that lets the wrong role or another organisation through."""
from __future__ import annotations

import re

import pytest
from flask import Flask

from bot.admin import policy
from bot.clock import FrozenClock
from models.accounts import Account, Organisation, SurveyTeam
from models.announcements import Announcement
from models.surveys import Survey
from tests.admin_support import T0, Env, build_app

ARG = re.compile(r"<(?:int:)?(\w+)>")


def admin_routes(app: Flask):
    """(endpoint, method, rule) for every route under /admin, HEAD/OPTIONS aside."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin"):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method, rule


def objects_of_org_b(env: Env) -> dict[type, int]:
    """An object of every loadable type that organisation A's account does not own. A new `load=` model
    must be added here, which is the point: someone has to say whose it is."""
    return {Announcement: env.ids["notice_b"], Account: env.ids["orgb"], Organisation: env.ids["org_b"],
            SurveyTeam: env.ids["team"], **_listings_of_org_b(env), **_survey_of_team_b(env), **_faq_objects(env)}


def _faq_objects(env: Env) -> dict[type, int]:
    """An FAQ entry, a not-understood text and a phrase taught from it (step 10): the city's staff's, no
    organisation or team owns them."""
    from models.faq import FaqEntry, NluMiss, NluPhrase

    if "faq" not in env.ids:
        now = env.rt.now()
        with env.rt.sessions() as db:
            entry = FaqEntry(question="質問", answer="答え", created_at=now, updated_at=now)
            miss = NluMiss(text="読み取れなかった言葉", count=1, first_seen=now, last_seen=now)
            phrase = NluPhrase(text="登録した言い換え", intent="help", created_at=now, created_by="職員")
            db.add_all([entry, miss, phrase])
            db.commit()
            env.ids["faq"], env.ids["faq_miss"], env.ids["faq_phrase"] = entry.id, miss.id, phrase.id
    return {FaqEntry: env.ids["faq"], NluMiss: env.ids["faq_miss"], NluPhrase: env.ids["faq_phrase"]}


def _survey_of_team_b(env: Env) -> dict[type, int]:
    """A survey (step 9) of a second survey team: neither organisation A nor the survey account's team owns it."""
    from tests.surveys_support import build_survey, team

    if "survey_b" not in env.ids:
        with env.rt.sessions() as db:
            other = team(db, "調査チームB", env.rt.now())
            env.ids["survey_b"] = build_survey(db, env.rt.now(), team_id=other.id, title="Bの調査").id
            db.commit()
    return {Survey: env.ids["survey_b"]}


def _listings_of_org_b(env: Env) -> dict[type, int]:
    """An event and a children's place (step 7) and a volunteer opportunity (step 8) of organisation B, made once per
    seeded database."""
    from models.events import Event
    from models.places import Place
    from models.volunteer import Opportunity

    if "event_b" not in env.ids:
        now = env.rt.now()
        with env.rt.sessions() as db:
            ev = Event(organisation_id=env.ids["org_b"], title="Bの行事", starts_at=now, created_at=now, updated_at=now)
            pl = Place(organisation_id=env.ids["org_b"], name="Bの居場所", kind="shokudo", district="kozu",
                       created_at=now, updated_at=now)
            op = Opportunity(organisation_id=env.ids["org_b"], title="Bの活動", created_at=now, updated_at=now)
            db.add_all([ev, pl, op])
            db.commit()
            env.ids["event_b"], env.ids["place_b"], env.ids["opportunity_b"] = ev.id, pl.id, op.id
    return {Event: env.ids["event_b"], Place: env.ids["place_b"], Opportunity: env.ids["opportunity_b"]}


def url_for_rule(rule, env: Env) -> str:
    r = policy.rule_for_view(env.app.view_functions[rule.endpoint])
    if r.load is None:
        assert not ARG.search(rule.rule), f"{rule.endpoint} takes an id but loads no object through the policy"
        return rule.rule
    objects = objects_of_org_b(env)
    assert r.load in objects, f"add an object of {r.load.__name__} to objects_of_org_b()"
    return ARG.sub(str(objects[r.load]), rule.rule)


def test_every_admin_endpoint_declares_a_rule(admin_app):
    app = admin_app[0]
    assert policy.unruled_endpoints(app) == []
    assert len({e for e, _, _ in admin_routes(app)}) >= 15


def test_a_route_without_a_rule_is_refused_and_reported(database_url):
    app, rt = build_app(database_url, FrozenClock(T0))
    try:
        app.add_url_rule("/admin/forgotten", endpoint="admin.forgotten", view_func=lambda: "secret")
        assert policy.unruled_endpoints(app) == ["admin.forgotten /admin/forgotten"]
        assert app.test_client().get("/admin/forgotten").status_code == 403  # deny by default
    finally:
        rt.close()


def test_anonymous_visitors_only_reach_the_login_page(admin_env):
    c = admin_env.client()
    token = c.token("/admin/login")
    for endpoint, method, rule in admin_routes(admin_env.app):
        url = url_for_rule(rule, admin_env)
        r = c.c.open(url, method=method, data={"csrf_token": token})
        if policy.rule_for_view(admin_env.app.view_functions[endpoint]).permission == policy.PUBLIC:
            assert r.status_code in (200, 422), (endpoint, method)
        else:
            assert r.status_code == 302 and r.headers["Location"].startswith("/admin/login"), (endpoint, method)


@pytest.mark.parametrize("who", ["staff", "orga", "survey"])
def test_every_route_refuses_roles_without_the_permission(admin_env, who):
    c = admin_env.signed_in(who)
    with admin_env.db() as db:
        role = db.get(Account, admin_env.ids[who]).role
    checked = 0
    for endpoint, method, rule in admin_routes(admin_env.app):
        r_ = policy.rule_for_view(admin_env.app.view_functions[endpoint])
        if r_.permission in (policy.PUBLIC, policy.SIGNED_IN) or r_.permission in policy.PERMISSIONS[role]:
            continue
        r = c.c.open(url_for_rule(rule, admin_env), method=method, data={"csrf_token": c.token()})
        assert r.status_code == 403, (who, endpoint, method, r.status_code)
        checked += 1
    assert checked > 0


def test_every_object_route_refuses_another_organisations_object(admin_env):
    """Organisation A asks for organisation B's objects by id, through every route that loads one: 403."""
    c = admin_env.signed_in("orga")
    checked = []
    for endpoint, method, rule in admin_routes(admin_env.app):
        if policy.rule_for_view(admin_env.app.view_functions[endpoint]).load is None:
            continue
        r = c.c.open(url_for_rule(rule, admin_env), method=method, data={"csrf_token": c.token(), "title": "x"})
        assert r.status_code == 403, (endpoint, method, r.status_code)
        checked.append(endpoint)
    assert {"admin.announcement_edit", "admin.announcement_delete", "admin.account_edit"} <= set(checked)
    # The refusal is about ownership, not the route: B's own account and the staff get through.
    for who in ("orgb", "staff"):
        assert admin_env.signed_in(who).get(f"/admin/announcements/{admin_env.ids['notice_b']}/edit").status_code == 200
    with admin_env.db() as db:
        assert db.get(Announcement, admin_env.ids["notice_b"]).title == "下書きB"


def test_policy_functions_decide_by_role_and_owner(admin_env):
    with admin_env.db() as db:
        acc = {k: db.get(Account, admin_env.ids[k]) for k in ("admin", "staff", "orga", "survey")}
        a, b = db.get(Announcement, admin_env.ids["notice_a"]), db.get(Announcement, admin_env.ids["notice_b"])
        from sqlalchemy import select

        def visible(who):
            return {n.title for n in db.scalars(policy.scope(select(Announcement), Announcement, acc[who]))}

        assert visible("admin") == visible("staff") == {"下書きA", "下書きB"}
        assert visible("orga") == {"下書きA"} and visible("survey") == set()
        assert policy.may_access(acc["orga"], a) and not policy.may_access(acc["orga"], b)
        assert not policy.may_access(acc["survey"], a) and policy.may_access(acc["staff"], b)
        assert policy.has(acc["admin"], policy.ACCOUNTS_MANAGE) and not policy.has(acc["staff"], policy.ACCOUNTS_MANAGE)
        acc["admin"].active = False
        assert not policy.has(acc["admin"], policy.SIGNED_IN)
