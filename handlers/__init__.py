"""Conversation logic: plain functions `(ctx) -> list[message dict]`, no I/O, no LINE calls."""
