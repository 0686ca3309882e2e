"""Configuration parsing and every validation error."""

from __future__ import annotations

from pathlib import Path

import pytest
from gatherarr import ConfigError, TargetType, load_config

pytestmark = pytest.mark.unit

BASE = {
    "GATHERARR_TARGETS": "movies,tv",
    "GATHERARR_MOVIES_TYPE": "radarr",
    "GATHERARR_MOVIES_URL": "http://radarr:7878/",
    "GATHERARR_MOVIES_API_KEY": "movies-secret",
    "GATHERARR_TV_TYPE": "Sonarr",
    "GATHERARR_TV_URL": "https://sonarr.example/base",
    "GATHERARR_TV_API_KEY": "tv-secret",
}


def errors_of(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(env)
    return info.value.errors


def test_minimal_config_gets_defaults() -> None:
    config = load_config(BASE)
    movies, tv = config.targets
    assert (movies.name, movies.type, movies.url) == (
        "movies",
        TargetType.RADARR,
        "http://radarr:7878",
    )
    assert (tv.type, tv.url) == (TargetType.SONARR, "https://sonarr.example/base")
    assert config.interval_seconds == 3600.0
    assert config.state_file == Path("/data/state.json")
    assert (config.listen_host, config.listen_port) == ("0.0.0.0", 9797)
    assert config.log_level == "INFO"
    assert config.dry_run is False
    assert config.max_searches_per_run == 20
    assert movies.max_searches_per_run == 10
    assert movies.research_interval_seconds == 604800.0
    assert config.http_timeout_seconds == 30.0
    assert config.retry.max_attempts == 3
    assert config.secrets == ("movies-secret", "tv-secret")


def test_every_option_is_read() -> None:
    env = {
        **BASE,
        "GATHERARR_INTERVAL_SECONDS": "90",
        "GATHERARR_STATE_FILE": "/tmp/s.json",
        "GATHERARR_LISTEN": "[::1]:8000",
        "GATHERARR_LOG_LEVEL": "debug",
        "GATHERARR_DRY_RUN": "yes",
        "GATHERARR_MAX_SEARCHES_PER_RUN": "7",
        "GATHERARR_TARGET_MAX_SEARCHES_PER_RUN": "3",
        "GATHERARR_TV_MAX_SEARCHES_PER_RUN": "0",
        "GATHERARR_RESEARCH_INTERVAL_SECONDS": "100",
        "GATHERARR_TV_RESEARCH_INTERVAL_SECONDS": "50.5",
        "GATHERARR_HTTP_TIMEOUT_SECONDS": "2.5",
        "GATHERARR_RETRY_MAX_ATTEMPTS": "5",
        "GATHERARR_RETRY_BASE_SECONDS": "0.5",
        "GATHERARR_RETRY_MAX_DELAY_SECONDS": "8",
        "GATHERARR_SHUTDOWN_TIMEOUT_SECONDS": "4",
    }
    config = load_config(env)
    movies, tv = config.targets
    assert config.interval_seconds == 90.0
    assert config.state_file == Path("/tmp/s.json")
    assert (config.listen_host, config.listen_port) == ("::1", 8000)
    assert config.log_level == "DEBUG"
    assert config.dry_run is True
    assert config.max_searches_per_run == 7
    assert (movies.max_searches_per_run, tv.max_searches_per_run) == (3, 0)
    assert (movies.research_interval_seconds, tv.research_interval_seconds) == (100.0, 50.5)
    assert config.http_timeout_seconds == 2.5
    assert (config.retry.max_attempts, config.retry.base_delay, config.retry.max_delay) == (
        5,
        0.5,
        8.0,
    )
    assert config.shutdown_timeout_seconds == 4.0


def test_missing_targets_is_an_error() -> None:
    assert errors_of({}) == ["GATHERARR_TARGETS: is required, e.g. movies,tv"]
    assert errors_of({"GATHERARR_TARGETS": " , "}) == [
        "GATHERARR_TARGETS: is required, e.g. movies,tv"
    ]


def test_all_errors_are_reported_at_once_each_naming_its_variable() -> None:
    env = {
        "GATHERARR_TARGETS": "movies,tv,9bad,Movies",
        "GATHERARR_MOVIES_TYPE": "lidarr",
        "GATHERARR_MOVIES_URL": "ftp://x",
        "GATHERARR_MOVIES_API_KEY": "  ",
        "GATHERARR_TV_URL": "not a url",
        "GATHERARR_INTERVAL_SECONDS": "0",
        "GATHERARR_LISTEN": "9797",
        "GATHERARR_LOG_LEVEL": "LOUD",
        "GATHERARR_DRY_RUN": "maybe",
        "GATHERARR_MAX_SEARCHES_PER_RUN": "-1",
        "GATHERARR_TARGET_MAX_SEARCHES_PER_RUN": "ten",
        "GATHERARR_RESEARCH_INTERVAL_SECONDS": "-5",
        "GATHERARR_HTTP_TIMEOUT_SECONDS": "abc",
        "GATHERARR_RETRY_MAX_ATTEMPTS": "0",
        "GATHERARR_RETRY_BASE_SECONDS": "x",
        "GATHERARR_RETRY_MAX_DELAY_SECONDS": "inf",
        "GATHERARR_SHUTDOWN_TIMEOUT_SECONDS": "nan",
        "GATHERARR_STATE_FILE": "",
    }
    errors = errors_of(env)
    named = {e.split(":", 1)[0] for e in errors}
    assert named == {
        "GATHERARR_TARGETS",
        "GATHERARR_MOVIES_TYPE",
        "GATHERARR_MOVIES_URL",
        "GATHERARR_MOVIES_API_KEY",
        "GATHERARR_TV_TYPE",
        "GATHERARR_TV_URL",
        "GATHERARR_TV_API_KEY",
        "GATHERARR_INTERVAL_SECONDS",
        "GATHERARR_LISTEN",
        "GATHERARR_LOG_LEVEL",
        "GATHERARR_DRY_RUN",
        "GATHERARR_MAX_SEARCHES_PER_RUN",
        "GATHERARR_TARGET_MAX_SEARCHES_PER_RUN",
        "GATHERARR_RESEARCH_INTERVAL_SECONDS",
        "GATHERARR_HTTP_TIMEOUT_SECONDS",
        "GATHERARR_RETRY_MAX_ATTEMPTS",
        "GATHERARR_RETRY_BASE_SECONDS",
        "GATHERARR_RETRY_MAX_DELAY_SECONDS",
        "GATHERARR_SHUTDOWN_TIMEOUT_SECONDS",
        "GATHERARR_STATE_FILE",
    }
    text = "\n".join(errors)
    assert "'9bad' must start with a letter" in text
    assert "'Movies' is listed twice" in text
    assert "GATHERARR_TV_TYPE: is required but not set" in text
    assert "GATHERARR_MOVIES_TYPE: must be radarr or sonarr" in text
    # The message names every variable, and ConfigError's text lists them all.
    message = str(ConfigError(errors))
    assert all(e in message for e in errors)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GATHERARR_LISTEN", "host:port", "port must be an integer"),
        ("GATHERARR_LISTEN", "host:70000", "port must be between 0 and 65535"),
        ("GATHERARR_LISTEN", ":80", "must be host:port"),
        ("GATHERARR_INTERVAL_SECONDS", "abc", "must be a number"),
        ("GATHERARR_RETRY_MAX_ATTEMPTS", "1.5", "must be an integer"),
        ("GATHERARR_MAX_SEARCHES_PER_RUN", "x", "must be an integer"),
        ("GATHERARR_RESEARCH_INTERVAL_SECONDS", "x", "must be a number"),
        ("GATHERARR_MOVIES_URL", "http://", "absolute http"),
    ],
)
def test_single_invalid_values(name: str, value: str, message: str) -> None:
    errors = errors_of({**BASE, name: value})
    assert len(errors) == 1
    assert errors[0].startswith(f"{name}: ")
    assert message in errors[0]


def test_error_messages_never_echo_values() -> None:
    errors = errors_of({**BASE, "GATHERARR_INTERVAL_SECONDS": "sekrit-value"})
    assert "sekrit-value" not in "\n".join(errors)


def test_target_repr_hides_api_key() -> None:
    config = load_config(BASE)
    assert "movies-secret" not in repr(config.targets[0])
    assert "movies-secret" not in repr(config)


@pytest.mark.parametrize("value", ["1", "true", "ON", "no", "0", "false", ""])
def test_boolean_spellings(value: str) -> None:
    config = load_config({**BASE, "GATHERARR_DRY_RUN": value})
    assert config.dry_run is (value.lower() in {"1", "true", "on"})
