"""comradarr-gateway."""
