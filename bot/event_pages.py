"""Stub: filled in by step 7."""


def register(app) -> None:
    return None
