"""Async client for the *arr apps."""
