"""Stub: filled in by step 8."""
