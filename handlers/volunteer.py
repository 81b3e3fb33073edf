"""Stub: filled in by step 8."""
POSTBACKS: dict = {}
INTENTS: dict = {}
EVENTS: dict = {}
FLOWS: dict = {}
COMMANDS: dict = {}
