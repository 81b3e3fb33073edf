"""Stub: filled in by step 7."""
