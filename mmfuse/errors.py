"""Errors that the CLI reports as one clear message, without a traceback."""
from __future__ import annotations


class MmfuseError(Exception):
    """Base class of every user-facing error."""


class ConfigError(MmfuseError, KeyError):
    """An unknown plugin name or an impossible configuration value."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DataError(MmfuseError):
    """A dataset file that cannot be used; the message names the file and what to do."""
