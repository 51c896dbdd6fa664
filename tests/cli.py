"""The `mlops` CLI as a process, the way users run it (exit code, stdout, stderr)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def mlops(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Runs ``mlops <args>`` (``python -m pipelines.cli``) from the repository root."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=timeout)
