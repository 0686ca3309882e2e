"""comradarr-proto."""
