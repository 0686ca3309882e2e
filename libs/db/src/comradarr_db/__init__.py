"""comradarr-db."""
