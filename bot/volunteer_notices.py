"""Stub: filled in by step 8 (volunteer notices: promotion/offer, cancel hook, reminders)."""
