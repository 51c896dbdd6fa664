"""Helpers shared by the DAGs in this folder. Import-safe: no I/O, network or DB at import.

Airflow puts the DAGs folder on ``sys.path``, so DAG files import these as
``mlops_airflow.<module>``. The package has a name of its own, not ``lib``: every DAG bundle's
folder lands on the same ``sys.path`` of a worker, and the first ``lib`` found would win for all.
The pure project modules they use (``pipelines.config``, the one config schema;
``components.alerting``, ``components.ge_validation``, ``components.common.storage``, ...) live
at the repository root; locally that root is the DAGs folder's parent, so it is appended to
``sys.path`` here when it holds ``components/``. On MWAA / Cloud Composer copy ``components/``
and ``pipelines/__init__.py`` + ``pipelines/config.py`` next to the DAG files instead: the
DAGs folder is on ``sys.path`` there (docs/airflow.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

DAGS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = DAGS_DIR.parent

if (REPO_ROOT / "components" / "__init__.py").is_file() and str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))
