"""Health and metrics endpoints shared by every service."""

from ._health import Check, health_app, health_router, run_checks

__all__ = ["Check", "health_app", "health_router", "run_checks"]
