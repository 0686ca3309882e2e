"""Errors raised while loading settings."""

from __future__ import annotations


class SettingsError(Exception):
    """The environment holds values the service cannot start with."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {name}: {why}" for name, why in problems)
        super().__init__(f"invalid configuration:\n{lines}")
