"""comradarr-embedded."""
