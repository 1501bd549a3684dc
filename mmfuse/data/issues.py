"""Problems found while reading or validating a dataset."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mmfuse.errors import DataError

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """One problem: where it is (file, line or video) and what to do about it."""

    severity: Severity
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.location}: {self.message}"


def raise_on_errors(issues: list[Issue]) -> None:
    """Raise one ``DataError`` listing every error-severity issue, if there are any."""
    errors = [issue for issue in issues if issue.severity == "error"]
    if errors:
        raise DataError("\n".join(str(issue) for issue in errors))
