"""Simulators of the *arr apps."""
