"""comradarr-crypto."""
