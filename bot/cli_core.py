"""Core subcommands: db, serve, emulator, worker, deliver, scheduler, richmenu, demo, privacy."""
from __future__ import annotations

import os


def add_commands(sub) -> None:
    p = sub.add_parser("db", help="database migrations")
    dsub = p.add_subparsers(dest="db_command", required=True)
    up = dsub.add_parser("upgrade", help="migrate the database (DATABASE_URL) to the newest schema")
    up.add_argument("--revision", default="heads")
    up.set_defaults(func=cmd_db_upgrade)

    p = sub.add_parser("serve", help="run the web app with Flask's development server (development and demo; "
                                     "production runs the Procfile's gunicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", 5000)))
    p.add_argument("--quiet", action="store_true", help="no start-up banner and no access log, errors only (the demo)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("emulator", help="run the local LINE Messaging API emulator and chat page")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--webhook-url", default="http://127.0.0.1:5000/callback")
    p.set_defaults(func=cmd_emulator)

    p = sub.add_parser("worker", help="process stored webhook events (with KYODO_DISPATCH_MODE=worker on the web side)")
    p.add_argument("--threads", type=int, help="handler threads (default KYODO_DISPATCH_WORKERS)")
    p.add_argument("--nice", type=int, default=15, help="lower this process's CPU priority by N")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("deliver", help="send publications (announcements, digests...) to their residents; "
                                       "the Procfile's delivery line")
    # Nicer than `kyodo worker` (15): a big fan-out never takes the CPU from replies.
    p.add_argument("--nice", type=int, default=19, help="lower this process's CPU priority by N")
    p.add_argument("--once", action="store_true", help="send what is due now, then exit")
    p.set_defaults(func=cmd_deliver)

    p = sub.add_parser("scheduler", help="run scheduled jobs (webhook and outbox sweepers)")
    p.add_argument("--once", action="store_true", help="run every job once and exit")
    p.set_defaults(func=cmd_scheduler)

    p = sub.add_parser("richmenu", help="create the default rich menu (image included) and set it as default")
    p.add_argument("--image-out", help="also write the generated image to this path")
    p.set_defaults(func=cmd_richmenu)

    p = sub.add_parser("demo", help="everything for a local demo: emulator, bot, scheduler, chat page")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--emulator-port", type=int, default=8081)
    p.add_argument("--no-setup", action="store_true", help="skip migrate/load steps")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("privacy", help="personal data")
    psub = p.add_subparsers(dest="privacy_command", required=True)
    d = psub.add_parser("delete-user", help="delete one resident's personal data (all modules' hooks)")
    d.add_argument("line_user_id")
    d.set_defaults(func=cmd_delete_user)


def cmd_db_upgrade(args) -> int:
    from bot.cli import config_for
    from bot.migrate import upgrade, upgrade_summary

    cfg = config_for(args, need_secrets=False)
    if cfg.database_url.startswith("sqlite:///"):
        from pathlib import Path

        Path(cfg.database_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    print(upgrade_summary(*upgrade(cfg.database_url, args.revision)))
    return 0


def cmd_serve(args) -> int:
    from bot.app import create_app
    from bot.cli import config_for
    from bot.dev_server import serve

    serve(create_app(config_for(args)), args.host, args.port, quiet=args.quiet)  # development and demo; production: Procfile
    return 0


def cmd_emulator(args) -> int:
    from bot.cli import config_for
    from emulator.cli import run

    cfg = config_for(args)
    run(args.host, args.port, args.webhook_url, cfg.line_channel_secret, cfg.line_channel_access_token)
    return 0


def cmd_scheduler(args) -> int:
    from bot.cli import config_for
    from scheduler.runner import run

    return run(config_for(args), once=args.once)


def cmd_worker(args) -> int:
    from bot.cli import config_for
    from bot.worker import run

    cfg = config_for(args)
    if args.threads:
        cfg = cfg.with_(dispatch_workers=args.threads)
    return run(cfg, nice=args.nice)


def cmd_deliver(args) -> int:
    from bot.cli import config_for
    from bot.fanout import run

    return run(config_for(args), nice=args.nice, once=args.once)


def cmd_richmenu(args) -> int:
    from bot.cli import config_for
    from bot.richmenu import install_default

    cfg = config_for(args)
    rich_menu_id = install_default(cfg, image_out=args.image_out)
    print(f"rich menu {rich_menu_id} is the default")
    return 0


def cmd_demo(args) -> int:
    from bot.demo import run_demo

    return run_demo(port=args.port, emulator_port=args.emulator_port, setup=not args.no_setup)


def cmd_delete_user(args) -> int:
    from sqlalchemy import select

    from bot.cli import config_for
    from bot.runtime import build_runtime
    from models.privacy import delete_personal_data
    from models.users import User

    rt = build_runtime(config_for(args, need_secrets=False))
    with rt.sessions() as db:
        user = db.scalar(select(User).where(User.line_user_id == args.line_user_id))
        if user is None:
            print("no such user")
            return 1
        ran = delete_personal_data(db, user)
        db.commit()
    print("deleted (" + ", ".join(ran) + ")")
    return 0
