"""`kyodo` command line. Each feature may add subcommands through COMMAND_MODULES."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from bot.config import ConfigError, from_env, require_secrets
from bot.log_format import LOG_FORMAT

# Modules exposing `add_commands(subparsers)`; later steps append theirs (plan, admin...).
COMMAND_MODULES = ["bot.cli_core", "bot.plan_loader", "bot.admin.cli", "bot.admin.announce_cli",
                   "bot.opendata.cli", "bot.sample_data"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kyodo", description="kyodo: 協働 LINE bot")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        # Inside the try: Ctrl-C (the demo stopping its children) may arrive while the modules still load.
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def config_for(args, *, need_secrets: bool = True):
    cfg = from_env()
    if need_secrets and not cfg.demo:
        require_secrets(cfg)
    return cfg


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
