"""Stub: filled in by step 7."""


def run(rt) -> None:
    return None
