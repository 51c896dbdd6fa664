"""Each process imports only what it uses: the CLI's help needs no data or ML library, and a
component (a Kubeflow task container imports one) does not pull in Vertex's SDK through
``from tfx import v1``."""

import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "pyarrow", "tensorflow", "tfx", "apache_beam")


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))\n"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(proc.stdout.split())


def test_mlops_help_imports_no_data_or_ml_library():
    loaded = _modules_after(
        "from pipelines.cli import main\n"
        "try:\n    main(['--help'], hard_exit=False)\nexcept SystemExit:\n    pass\n"
        "try:\n    main(['drift', '--help'], hard_exit=False)\nexcept SystemExit:\n    pass\n"
    )
    assert not [m for m in HEAVY if m in loaded]


@pytest.mark.parametrize("module", ["components.data_gate.component", "components.serving_baseline.component"])
def test_a_component_does_not_import_vertex_sdk(module):
    loaded = _modules_after(f"import {module}")
    assert "tfx" in loaded
    assert not [m for m in loaded if m.startswith(("google.cloud.aiplatform", "tfx.v1", "keras_tuner"))], module
