"""The single scheduler process: sweepers now, scheduled pushes from step 4."""
