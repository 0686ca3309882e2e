"""comradarr-notifier."""
