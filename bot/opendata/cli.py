"""`kyodo events import|export` and `kyodo places import|export`: the 推奨データセット CSV files
(bot/opendata/events_csv.py, places_csv.py) from the command line, for operators.

    kyodo events import FILE [--organisation NAME] [--dry-run] [--no-announce]
    kyodo places import FILE [--organisation NAME] [--dry-run] [--no-announce]
    kyodo events export [-o FILE] [--organisation NAME]
    kyodo places export [-o FILE] [--organisation NAME]

An import prints the encoding it read, the counts and each refused row (line, column, why); the valid rows
are written in one transaction with an audit entry. Exit status: 0 all rows read, 1 some rows refused (the
others imported), 2 the file could not be read at all (nothing written). With --organisation, the import
acts as that organisation: new rows are its, and rows of anyone else are refused. Rows newly published are
announced to their 地区/project subscribers as the admin does, unless --no-announce. Export writes UTF-8 with
a byte-order mark and CRLF (Excel opens it as it is), to standard output without -o.
"""
from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

LAYOUTS = {"events": "bot.opendata.events_csv", "places": "bot.opendata.places_csv"}
FILE_NAMES = {"events": "events.csv", "places": "places.csv"}


def add_commands(sub) -> None:
    for what, label in (("events", "イベント一覧"), ("places", "こどもの居場所（公共施設一覧）")):
        p = sub.add_parser(what, help=f"{label}: CSV import and export (デジタル庁 推奨データセット)")
        psub = p.add_subparsers(dest=f"{what}_command", required=True)
        imp = psub.add_parser("import", help=f"import a {label} CSV (UTF-8, UTF-8 with BOM, CP932 or UTF-16LE)")
        imp.add_argument("file", help="the CSV file")
        imp.add_argument("--organisation", help="import as this organisation (団体名): its rows only")
        imp.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        imp.add_argument("--no-announce", action="store_true",
                         help="do not tell district/project subscribers about newly published rows")
        imp.set_defaults(func=cmd_import, layout=what)
        exp = psub.add_parser("export", help=f"write every {what} row as CSV (UTF-8 with BOM, CRLF)")
        exp.add_argument("-o", "--output", help="file to write (default: standard output)")
        exp.add_argument("--organisation", help="only this organisation's rows")
        exp.set_defaults(func=cmd_export, layout=what)


def _module(layout: str):
    import importlib

    return importlib.import_module(LAYOUTS[layout])


def _organisation(db, name: str | None) -> tuple[int | None, str | None]:
    """(id, error) of an organisation named on the command line."""
    from sqlalchemy import select

    from models.accounts import Organisation

    if not name:
        return None, None
    org = db.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        known = ", ".join(db.scalars(select(Organisation.name).order_by(Organisation.name)).all()) or "（なし）"
        return None, f"団体「{name}」は登録されていません（登録済み: {known}）"
    return org.id, None


def _sessions(args):
    from bot.cli import config_for
    from bot.db import make_engine, make_sessions

    cfg = config_for(args, need_secrets=False)
    engine = make_engine(cfg.database_url, pool_size=1)
    return cfg, engine, make_sessions(engine)


def cmd_import(args) -> int:
    from bot.admin import audit
    from bot.clock import system_clock
    from bot.opendata.encoding import UnreadableFile
    from bot.opendata.importer import Scope

    prog = f"kyodo {args.layout} import"
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as e:
        print(f"{prog}: {path} を読めません（{e.strerror or e}）", file=sys.stderr)
        return 2
    cfg, engine, sessions = _sessions(args)
    try:
        with sessions() as db:
            org_id, problem = _organisation(db, args.organisation)
            if problem:
                print(f"{prog}: {problem}", file=sys.stderr)
                return 2
            now = system_clock()
            scope = Scope(organisation_id=org_id, own_only=org_id is not None)
            try:
                report = _module(args.layout).import_csv(db, data, scope=scope, now=now, dry_run=args.dry_run,
                                                         announce=not args.no_announce,
                                                         base_url=cfg.public_base_url)
            except UnreadableFile as e:
                db.rollback()
                print(f"{prog}: {path}: {e} 何も書き込んでいません。", file=sys.stderr)
                return 2
            if not args.dry_run:
                audit.record(db, "opendata.import", now=now, object_type=args.layout,
                             summary=f"{path.name}: {report.summary()}（{report.encoding_label}）（コマンドライン）")
                db.commit()
    finally:
        engine.dispose()
    print(f"{path}: 文字コード {report.encoding_label}")
    print(("確認のみ（--dry-run、何も書き込んでいません）: " if args.dry_run else "") + report.summary())
    for p in report.problems:
        print(f"  {p}")
    return 1 if report.refused else 0


def cmd_export(args) -> int:
    _cfg, engine, sessions = _sessions(args)
    try:
        with sessions() as db:
            org_id, problem = _organisation(db, args.organisation)
            if problem:
                print(f"kyodo {args.layout} export: {problem}", file=sys.stderr)
                return 2
            data = _module(args.layout).export_csv(db, organisation_id=org_id, own_only=org_id is not None)
    finally:
        engine.dispose()
    if args.output:
        Path(args.output).write_bytes(data)
        rows = sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))) - 1
        print(f"{args.output}: {rows}件を書き出しました（UTF-8 BOM付き）", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0
