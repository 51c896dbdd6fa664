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
        """The one-paragraph reason shown to people (CLI stderr, alerts).

        One entry per column (table-level problems last): each check once, with the validators
        that found it and the splits it was seen in, and a few example values.
        """
        head = f"Data validation stopped the pipeline{f' for {self.dataset}' if self.dataset else ''}"
        groups = group_failures(self.failures)
        shown = groups[:8]
        body = "; ".join(shown)
        more = f"; and {len(groups) - len(shown)} more" if len(groups) > len(shown) else ""
        return (f"{head}: {len(groups)} critical problem(s): {body}{more}. "
                "Nothing was trained or pushed.")


def _split_and_detail(detail: str) -> tuple[str | None, str]:
    """('train', 'rest') for a detail written as '[train] rest'; (None, detail) otherwise."""
    if detail.startswith("[") and "]" in detail:
        split, rest = detail[1:].split("]", 1)
        return split, rest.strip()
    return None, detail


def group_failures(failures: list[CheckFailure]) -> list[str]:
    """One sentence per column (then one per table-level check), merging validators and splits."""
    by_column: dict[str | None, dict[str, dict[str, Any]]] = {}
    for f in failures:
        split, detail = _split_and_detail(f.detail)
        checks = by_column.setdefault(f.column, {})
        entry = checks.setdefault(f.check, {"sources": [], "splits": [], "detail": detail, "examples": []})
        if f.source not in entry["sources"]:
            entry["sources"].append(f.source)
        if split and split not in entry["splits"]:
            entry["splits"].append(split)
        for e in f.examples:
            if e not in entry["examples"] and len(entry["examples"]) < 5:
                entry["examples"].append(e)
    out = []
    for column in sorted(by_column, key=lambda c: (c is None, str(c))):
        parts, examples = [], []
        for check, entry in by_column[column].items():
            where = f" in {', '.join(entry['splits'])}" if entry["splits"] else ""
            detail = f": {entry['detail']}" if entry["detail"] and column is None else ""
            parts.append(f"{check} ({', '.join(entry['sources'])}{where}){detail}")
            examples += [e for e in entry["examples"] if e not in examples]
        if column is None:
            out.extend(f"table failed {p}" for p in parts)
            continue
        details = [e["detail"] for e in by_column[column].values() if e["detail"]]
        ex = f"; e.g. {', '.join(repr(e) for e in examples[:5])}" if examples else ""
        first = f" ({details[0]})" if details else ""
        out.append(f"column '{column}' failed {' and '.join(parts)}{first}{ex}")
    return out


class NotBlessedError(RuntimeError):
    """The candidate model failed an evaluation or fairness gate; nothing was pushed."""

    exit_code = 4
