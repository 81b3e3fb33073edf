"""Survey jobs (step 9): being written."""
from __future__ import annotations


def run(rt) -> None:
    return None
