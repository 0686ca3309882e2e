"""comradarr-dispatcher."""
