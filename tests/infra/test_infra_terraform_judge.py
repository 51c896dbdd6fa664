"""Why Terraform, not tests/infra/hcl_expr.py, judges the variable validations.

These tests put the same values to both judges where they disagree: Terraform's regular
expressions are RE2 (Go), the fallback's are Python's; Terraform converts values to the
variables' types, the fallback does not; and whether ``&&``/``||`` short-circuit depends on
the Terraform version (>= 1.12 does, #36224), while the module's ``required_version`` allows
both kinds. A test that compares with Terraform needs a terraform binary; without one it is
skipped and says so (the validations themselves then run on the fallback, see
test_infra_validations.py). The last test needs no binary: it makes sure no case of the
validation table gets a different verdict with and without short-circuiting, so the verdicts
hold for every Terraform version the modules allow.
"""

from __future__ import annotations

import os
import shutil

import pytest

from test_infra_validations import AWS_MOD, EXPANDED, MODULE_SAMPLES, TARGETS, inputs
from tf_judge import (
    FORCE_ENV,
    EvaluatorJudge,
    Inputs,
    JudgeError,
    TerraformJudge,
    judge_name,
    terraform_binary,
    terraform_judge,
    version_tuple,
)
from tfparse import REPO_ROOT

AWS = REPO_ROOT / AWS_MOD


@pytest.fixture(scope="module")
def terraform():
    judge = terraform_judge()
    if not isinstance(judge, TerraformJudge):
        binary = terraform_binary()
        if binary is None:
            pytest.skip("no terraform binary on PATH: this test compares Terraform with the hcl_expr.py fallback")
        # Forced fallback for the suite; the comparison still uses the binary that is there.
        judge = TerraformJudge(binary)
    return judge


def test_the_judge_is_terraform_wherever_a_binary_is_on_path():
    judge = terraform_judge()
    if os.environ.get(FORCE_ENV) == "hcl_expr":
        assert isinstance(judge, EvaluatorJudge) and judge_name() == "hcl_expr"
    elif shutil.which("terraform"):
        assert isinstance(judge, TerraformJudge) and judge_name() == "terraform"
        assert judge.description.startswith(f"terraform {judge.version} ")
    else:
        assert isinstance(judge, EvaluatorJudge) and "no terraform binary" in judge.description


def test_terraform_rejects_a_trailing_newline_that_python_re_accepts(terraform):
    """RE2's `$` is the end of the text; Python's also matches before a final newline."""
    values = dict(MODULE_SAMPLES[AWS_MOD], name="mlops-dev\n")
    verdict = terraform.verdict(AWS, Inputs((), values))
    assert verdict.validations.get("name") == {0}, verdict.describe()
    assert EvaluatorJudge().verdict(AWS, Inputs((), values)).accepted  # what the old check let through


def test_terraform_rejects_a_value_of_the_wrong_type_that_the_evaluator_accepts(terraform):
    """`force_destroy` has no validation block; only Terraform's type conversion stops "maybe"."""
    values = dict(MODULE_SAMPLES[AWS_MOD], force_destroy="maybe")
    verdict = terraform.verdict(AWS, Inputs((), values))
    assert "force_destroy" in verdict.other and not verdict.validations, verdict.describe()
    assert "bool" in " ".join(verdict.other["force_destroy"])
    assert EvaluatorJudge().verdict(AWS, Inputs((), values)).accepted


def test_terraform_accepts_a_convertible_value_that_the_evaluator_rejects(terraform):
    """The string "3" for a number is converted by Terraform before the condition sees it."""
    values = dict(MODULE_SAMPLES[AWS_MOD], gpu_min_size="3", gpu_max_size="4")
    assert terraform.verdict(AWS, Inputs((), values)).accepted
    assert EvaluatorJudge().verdict(AWS, Inputs((), values)).rejects("gpu_min_size")


SHORT_CIRCUIT_TF = """\
variable "subnet_ids" {
  type    = list(string)
  default = null

  validation {
    condition     = var.subnet_ids == null || length(var.subnet_ids) > 0
    error_message = "subnet_ids must not be empty."
  }
}
"""


def test_short_circuit_follows_the_terraform_version(terraform, tmp_path):
    """`null || length(null) > 0`: an error (so a rejection) before Terraform 1.12, true from 1.12."""
    (tmp_path / "variables.tf").write_text(SHORT_CIRCUIT_TF)
    verdict = terraform.verdict(tmp_path, Inputs())
    short_circuits = version_tuple(terraform.version) >= (1, 12)
    if short_circuits:
        assert verdict.accepted, f"terraform {terraform.version}: {verdict.describe()}"
    else:
        assert verdict.validations == {"subnet_ids": {0}}, f"terraform {terraform.version}: {verdict.describe()}"
        assert "fails to evaluate" in verdict.describe()
    # The fallback's two modes stand for the two kinds of Terraform: the matching one agrees.
    matching = EvaluatorJudge(short_circuit=short_circuits).verdict(tmp_path, Inputs())
    other = EvaluatorJudge(short_circuit=not short_circuits).verdict(tmp_path, Inputs())
    assert matching.validations == verdict.validations and other.accepted != verdict.accepted


def test_terraform_refuses_to_judge_outside_the_required_version(terraform, tmp_path):
    """The copy keeps the directory's required_version, so an unsupported Terraform cannot judge."""
    (tmp_path / "variables.tf").write_text(SHORT_CIRCUIT_TF)
    (tmp_path / "versions.tf").write_text('terraform {\n  required_version = "< 1.0.0"\n}\n')
    judge = TerraformJudge(terraform.binary, workdir=tmp_path / "work")
    with pytest.raises(JudgeError, match="Unsupported Terraform Core version"):
        judge.verdict(tmp_path, Inputs())


def test_no_verdict_depends_on_whether_and_or_short_circuit(tmp_path):
    """required_version allows Terraform before and after 1.12, so no case may depend on it."""
    plain, short = EvaluatorJudge(short_circuit=False), EvaluatorJudge(short_circuit=True)
    # The comparison can tell: on the example above the two modes differ.
    (tmp_path / "variables.tf").write_text(SHORT_CIRCUIT_TF)
    assert plain.verdict(tmp_path, Inputs()).validations == {"subnet_ids": {0}}
    assert short.verdict(tmp_path, Inputs()).accepted
    requests = [(d, inputs(d, env, setting)) for d, env, _, setting, _ in EXPANDED] + [(d, inputs(d, env)) for d, env in TARGETS]
    differ = [
        f"{d}: {i.values}: {plain.verdict(d, i).describe()} vs {short.verdict(d, i).describe()}"
        for d, i in requests
        if plain.verdict(d, i).validations != short.verdict(d, i).validations
    ]
    assert len(requests) > 100
    assert not differ, "verdicts that depend on the Terraform version:\n" + "\n".join(differ)
