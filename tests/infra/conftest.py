"""Makes the helper modules next to this file (tfparse, hcl_expr, tf_judge) importable in any
import mode, and says which judge decides the Terraform variable validations: in the report
header, in the terminal summary, and as the junit testsuite property `validation_judge`."""

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from tf_judge import terraform_judge  # noqa: E402


def _judge_line() -> str:
    return f"Terraform variable validations judged by: {terraform_judge().description}"


def pytest_report_header(config):
    return [_judge_line()]


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(_judge_line())


@pytest.fixture(scope="session", autouse=True)
def _record_validation_judge(record_testsuite_property):
    judge = terraform_judge()
    record_testsuite_property("validation_judge", judge.description)
    record_testsuite_property("validation_judge_name", judge.name)
