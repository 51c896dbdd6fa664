"""What every size-sweeping benchmark does the same way: the ``--sizes`` list, one scratch folder
per size, and the results JSON. Standard library only (the Spark benchmark runs in the Airflow
venv, the others in the project image)."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator


def sizes(text: str) -> list[int]:
    """The row counts of a comma-separated ``--sizes`` argument."""
    return [int(s) for s in text.split(",")]


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A fresh temporary folder, removed afterwards (also when the measurement fails)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_results(path: str | Path, body: dict[str, Any]) -> None:
    """Writes the results JSON (``benchmarks/results/*.json``, quoted in docs/benchmarks.md)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2) + "\n")
