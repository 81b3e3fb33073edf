"""アンケート on LINE (step 9): being written; see /work/notes/step9_spec.md."""
from __future__ import annotations

POSTBACKS: dict = {}
INTENTS: dict = {}
FLOWS: dict = {}
PAUSED_BY_OTHER_BUTTONS = ("survey",)
