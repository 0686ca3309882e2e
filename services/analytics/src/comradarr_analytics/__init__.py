"""comradarr-analytics."""
