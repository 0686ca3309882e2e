"""comradarr-settings."""
