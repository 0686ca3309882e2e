"""comradarr-sync."""
