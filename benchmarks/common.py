"""What every size-sweeping benchmark does the same way: the ``--sizes`` list, one scratch folder
per size, and the results JSON. Standard library only (the Spark benchmark runs in the Airflow
venv, the others in the project image)."""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parent.parent


def sweep_parser(doc: str, default_sizes: str, results_name: str, sizes_help: str = "comma-separated row counts"):
    """An argument parser (description: the first line of ``doc``) with ``--sizes`` and
    ``--output`` (default ``benchmarks/results/<results_name>``); add the benchmark's own options."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--sizes", default=default_sizes, help=sizes_help)
    p.add_argument("--output", default=str(REPO / "benchmarks" / "results" / results_name))
    return p


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
