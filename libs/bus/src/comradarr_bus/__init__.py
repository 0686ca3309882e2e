"""comradarr-bus."""
