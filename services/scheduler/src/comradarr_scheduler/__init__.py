"""comradarr-scheduler."""
