"""Stub: filled in by step 7."""


def add_commands(sub) -> None:
    return None
