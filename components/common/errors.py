"""Errors that end a run for a reason a person can act on (mapped to CLI exit codes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class CheckFailure:
    """One failed data check.

    Attributes:
        column: The column concerned, or None for table-level checks.
        check: The expectation or anomaly, e.g. ``expect_column_values_to_be_in_set``.
        source: Which validator found it: ``ingest``, ``tfdv`` or ``great_expectations``.
        detail: A short human description.
        examples: A few offending values.
    """

    column: str | None
    check: str
    source: str
    detail: str = ""
    examples: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sentence(self) -> str:
        """One line: column, check, detail and example values."""
        where = f"column '{self.column}'" if self.column else "table"
        ex = f"; e.g. {', '.join(repr(e) for e in self.examples)}" if self.examples else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{where} failed {self.check} ({self.source}){detail}{ex}"


class DataValidationError(ValueError):
    """Bad data: the run stops before Transform and nothing is trained or pushed."""

    exit_code = 3

    def __init__(self, failures: list[CheckFailure], dataset: str = ""):
        self.failures = list(failures)
        self.dataset = dataset
        super().__init__(self.paragraph())

    def paragraph(self) -> str:
        """The one-paragraph reason shown to people (CLI stderr, alerts)."""
        head = f"Data validation stopped the pipeline{f' for {self.dataset}' if self.dataset else ''}"
        shown = self.failures[:8]
        body = "; ".join(f.sentence() for f in shown)
        more = f"; and {len(self.failures) - len(shown)} more" if len(self.failures) > len(shown) else ""
        return f"{head}: {len(self.failures)} critical problem(s): {body}{more}. Nothing was trained or pushed."


class NotBlessedError(RuntimeError):
    """The candidate model failed an evaluation or fairness gate; nothing was pushed."""

    exit_code = 4
