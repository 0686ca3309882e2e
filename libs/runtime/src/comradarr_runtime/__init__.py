"""comradarr-runtime."""
