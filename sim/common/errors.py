"""Errors every layer may raise: a problem with the user's input is reported by the command
line as one message without a traceback (exit status 2)."""

from __future__ import annotations


class UsageError(ValueError):
    """A problem with the user's input, reported without a traceback (exit status 2)."""
