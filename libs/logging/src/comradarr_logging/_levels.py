"""Level names, including the extra TRACE level below DEBUG."""

from __future__ import annotations

import logging

__all__ = ["CHATTY", "LEVELS", "TRACE", "apply_level", "get_level", "parse_level", "set_level"]

TRACE = 5

# Ordered lowest first; this is also the order shown in error messages.
LEVELS: dict[str, int] = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_NAMES = {number: name for name, number in LEVELS.items()}

# Registered globally so stdlib records logged at 5 render as "trace", not "level 5".
logging.addLevelName(TRACE, "TRACE")


def parse_level(level: str) -> int:
    """Return the numeric level for a name, or raise ValueError naming the valid ones."""
    try:
        return LEVELS[level.strip().lower()]
    except (KeyError, AttributeError):
        valid = ", ".join(LEVELS)
        raise ValueError(f"invalid log level {level!r}; valid levels: {valid}") from None


# Libraries that log every request they make at INFO: routine traffic to the *arr apps
# (two lines per dispatched search, one per episode list of a sync) that buried the
# services' own lines and cost a formatted, redacted line each. Shown at DEBUG and below.
CHATTY = ("httpx", "httpcore")


def apply_level(number: int) -> None:
    """Set the root logger to number, and the chatty libraries to at least WARNING unless
    number is DEBUG or lower."""
    # Everything propagates to the root logger and structlog loggers ask the
    # stdlib whether a level is enabled, so the root level is the knob.
    logging.getLogger().setLevel(number)
    quiet = logging.NOTSET if number <= logging.DEBUG else max(number, logging.WARNING)
    for name in CHATTY:
        logging.getLogger(name).setLevel(quiet)


def set_level(level: str) -> None:
    """Change the level of every logger at run time (structlog and stdlib alike)."""
    apply_level(parse_level(level))


def get_level() -> str:
    """Return the current level name."""
    number = logging.getLogger().getEffectiveLevel()
    if number in _NAMES:
        return _NAMES[number]
    return logging.getLevelName(number).lower()
