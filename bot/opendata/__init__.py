"""Open data files in and out (推奨データセット CSV)."""
