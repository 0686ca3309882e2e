"""comradarr-discovery."""
