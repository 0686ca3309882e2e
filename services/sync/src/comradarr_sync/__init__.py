"""comradarr-sync: mirrors *arr libraries into PostgreSQL on sweep commands."""
