"""comradarr-logging."""
