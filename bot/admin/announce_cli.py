"""`kyodo announce`: what the お知らせ form does, from the command line, for operators.

    kyodo announce --title 断水のお知らせ --text "..." [--district kozu --project 3 --topic events
                   --match all|any] [--at "2026-12-01 09:00"] [--urgent] [--link https://...] [--yes]

Shows who it reaches and how many, asks before sending unless --yes, and goes through the same rules as
the admin (bot/admin/announce_flow.py): text length, https link, future time, and the approval threshold
(an announcement over KYODO_APPROVAL_THRESHOLD residents is refused here: it needs a second person, so it
goes through the admin). Written to the audit log as done from the command line.
"""
from __future__ import annotations

import sys

from bot import announcement_messages as am
from bot import segments


def add_commands(sub) -> None:
    p = sub.add_parser("announce", help="send or schedule a staff announcement (お知らせ) to residents")
    p.add_argument("--text", required=True, help="the message text (LINE: up to 5,000 characters)")
    p.add_argument("--title", help="title for lists and reports (default: the text's first line)")
    p.add_argument("--district", action="append", default=[], help="district key (districts.yaml), repeatable")
    p.add_argument("--project", action="append", default=[], type=int, help="project number 1-7, repeatable")
    p.add_argument("--topic", action="append", default=[], help="topic key (events, places, ...), repeatable: residents who chose any of them "
                   "(without --topic: those who kept city, 市からのお知らせ)")
    p.add_argument("--match", choices=(segments.ALL, segments.ANY), default=segments.ANY,
                   help="all: in every list given (AND); any: in at least one (OR, the default)")
    p.add_argument("--at", help='send at this time, Asia/Tokyo, e.g. "2026-12-01 09:00" (default: now)')
    p.add_argument("--urgent", action="store_true", help="緊急: ignores quiet hours and the daily cap")
    p.add_argument("--link", help="https link shown as a button under the text")
    p.add_argument("--link-label", help="the button's label (default 詳しく見る)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_announce)


def _fail(message: str) -> int:
    print(f"kyodo announce: {message}", file=sys.stderr)
    return 1


def problems(args, known_districts: set[str]) -> list[str]:
    out = []
    text = args.text or ""
    if not text.strip():
        out.append("--text is empty")
    if am.utf16_len(text) > am.body_limit(args.urgent):
        out.append(f"--text is {am.utf16_len(text):,} characters; LINE allows {am.body_limit(args.urgent):,}")
    if args.link and (problem := am.link_problem(args.link)):
        out.append(f"--link: {problem}")
    unknown = [d for d in args.district if d not in known_districts]
    if unknown:
        out.append(f"unknown district {', '.join(unknown)} (keys: {', '.join(sorted(known_districts))})")
    from bot.admin.announce_flow import PROJECT_NUMBERS, TOPIC_LABELS

    if bad := [p for p in args.project if p not in PROJECT_NUMBERS]:
        out.append(f"unknown project {', '.join(map(str, bad))} (1-7)")
    if bad := [t for t in args.topic if t not in TOPIC_LABELS]:
        out.append(f"unknown topic {', '.join(bad)} ({', '.join(TOPIC_LABELS)})")
    return out


def cmd_announce(args) -> int:
    from bot.admin import announce_flow as flow
    from bot.cli import config_for
    from bot.runtime import build_runtime
    from bot.clock import to_tokyo
    from models.announcements import DRAFT, Announcement

    cfg = config_for(args, need_secrets=False)
    if found := problems(args, {k for k, _ in flow.districts(cfg.city)}):
        return _fail("; ".join(found))
    rt = build_runtime(cfg)
    try:
        now = rt.now()
        when = None
        try:
            if args.at:
                when = flow.parse_when(args.at)
                flow.check_future(when, now)
        except flow.FlowError as e:
            return _fail(e.message)
        seg = segments.Segment(districts=tuple(args.district), projects=tuple(args.project), topics=tuple(args.topic),
                               match=args.match)
        with rt.sessions() as db:
            audience = flow.count(db, seg, args.urgent)
            print(f"to: {flow.describe(seg, cfg.city)}")
            print(f"residents: {audience:,}")
            print(f"when: {to_tokyo(when):%Y-%m-%d %H:%M} (Asia/Tokyo)" if when else "when: now")
            if audience > cfg.approval_threshold:
                return _fail(f"more than {cfg.approval_threshold:,} residents (KYODO_APPROVAL_THRESHOLD): a second "
                             "person must approve it; write it in the admin (/admin/announcements) instead")
            if not args.yes:
                if not sys.stdin.isatty():
                    return _fail("not confirmed: add --yes to send without asking")
                answer = input("send? [y/N] ").strip().lower()
                if answer not in ("y", "yes"):
                    print("nothing sent")
                    return 1
            title = (args.title or args.text.strip().splitlines()[0])[:100]
            ann = Announcement(title=title, body=args.text, urgent=args.urgent, link_url=args.link,
                               link_label=args.link_label, status=DRAFT, created_at=now, updated_at=now,
                               audience=audience)
            ann.segment = ({} if seg.is_everyone() else
                           {"districts": list(seg.districts), "projects": list(seg.projects),
                            "topics": list(seg.topics), "match": seg.match})
            db.add(ann)
            from bot.admin import audit

            audit.record(db, "announcement.create", obj=ann, now=now, summary=f"{title}（{audience:,}人）{flow.CLI}")
            try:
                pub = flow.publish(db, cfg, ann, None, now, when=when)
            except flow.FlowError as e:
                db.rollback()
                return _fail(e.message)
            db.commit()
            print(f"announcement {ann.id} {'scheduled' if when else 'queued'} (publication {pub.id}); "
                  "`kyodo deliver` sends it")
    finally:
        rt.close()
    return 0
