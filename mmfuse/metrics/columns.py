"""The leaderboard column a task reports, shared by the tasks (which declare them) and the results
(which render them from run records, where each is stored as ``{key, header, higher_is_better}``)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One leaderboard column: metric key, header, and which way is better (the metric's
    ``higher_is_better``; the leaderboard's best follows it)."""

    key: str
    header: str
    higher_is_better: bool = True
