"""Stub: filled in by step 7."""
POSTBACKS: dict = {}
INTENTS: dict = {}
EVENTS: dict = {}
FLOWS: dict = {}
COMMANDS: dict = {}
