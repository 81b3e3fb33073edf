"""What a process that answers residents loads before its first message: the intent tables, the Japanese
tokenizer and the content-search index (3-5 s with 20,000 events: the first resident must not pay for it)."""
from __future__ import annotations

import logging

log = logging.getLogger("kyodo.warmup")


def warm(rt) -> None:
    from bot import content_search, ja_text
    from handlers import nlu

    nlu.warm()
    tokenizer_s = ja_text.warm()
    try:
        with rt.sessions() as db:
            index_s = content_search.warm(db, rt.now(), rt.config.city)
    except Exception:  # noqa: BLE001 - a cold index is built at the first search instead; never stop the process
        log.exception("warmup: the content index could not be built now")
        return
    log.info("warm: tokenizer %.2f s, content index %.2f s", tokenizer_s, index_s)
