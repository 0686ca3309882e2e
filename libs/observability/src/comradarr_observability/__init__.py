"""comradarr-observability."""
