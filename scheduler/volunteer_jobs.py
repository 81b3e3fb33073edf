"""Stub: filled in by step 8."""


def run(rt) -> None:
    return None
