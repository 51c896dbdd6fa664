"""checkov (security scan) and `terraform fmt` over terraform/.

checkov lives in its own venv, .venv-checkov at the repo root (infra/scripts/test-infra.sh
creates it): its hcl2 fork replaces python-hcl2's `hcl2` module, so it cannot share this venv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from tfparse import REPO_ROOT, TERRAFORM_DIR, rel, tf_files

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
_SKIP_RE = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


@pytest.fixture(scope="module")
def checkov_report() -> dict:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV.relative_to(REPO_ROOT)} is missing: run infra/scripts/test-infra.sh, which creates it")
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false", LOG_LEVEL="ERROR")
    # --skip-download: no calls to the vendor's API (offline; guidelines only).
    cmd = [str(CHECKOV), "-d", "terraform", "--framework", "terraform", "-o", "json", "--skip-download", "--compact"]
    result = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode in (0, 1), f"checkov crashed (rc={result.returncode}):\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    assert len(reports) == 1 and reports[0]["check_type"] == "terraform", f"unexpected checkov report shape: {[r.get('check_type') for r in reports]}"
    return reports[0]


def test_checkov_reports_zero_failed_checks(checkov_report):
    summary = checkov_report["summary"]
    failed = checkov_report["results"]["failed_checks"]
    lines = [f"{c['check_id']} {c['check_name']} -- {c['resource']} ({c['file_path']}:{c['file_line_range']})" for c in failed]
    assert summary["failed"] == 0 and not failed, "checkov failures:\n" + "\n".join(lines)
    assert summary["parsing_errors"] == 0, f"checkov could not parse: {summary}"
    assert summary["passed"] > 100, f"checkov ran suspiciously few checks: {summary}"


def test_checkov_scanned_every_module_and_environment(checkov_report):
    scanned = {c.get("file_path") for kind in ("passed_checks", "skipped_checks") for c in checkov_report["results"][kind]}
    scanned |= {c.get("caller_file_path") for kind in ("passed_checks",) for c in checkov_report["results"][kind]}
    for part in ("/modules/aws_gpu_training/", "/modules/azure_gpu_training/", "/modules/gcp_gpu_training/"):
        assert any(p and part in p for p in scanned), f"checkov did not scan {part}"


def test_every_checkov_skip_is_inline_with_a_real_reason(checkov_report):
    """Skips are `#checkov:skip=ID:reason` comments in the code, never CLI flags, and say why."""
    problems = []
    inline = set()
    for f in tf_files():
        for n, line in enumerate(f.read_text().splitlines(), 1):
            m = _SKIP_RE.search(line)
            if not m:
                continue
            check_id, reason = m.group(1), (m.group(2) or "").strip()
            inline.add(check_id)
            if len(reason) < 30 or len(reason.split()) < 5:
                problems.append(f"{rel(f)}:{n}: skip of {check_id} needs a real reason, got {reason!r}")
    for c in checkov_report["results"]["skipped_checks"]:
        comment = (c.get("check_result") or {}).get("suppress_comment", "")
        if c["check_id"] not in inline or not comment.strip():
            problems.append(f"{c['check_id']} skipped for {c['resource']} without an in-line reason")
    assert not problems, "\n".join(problems)


def test_terraform_fmt_is_clean():
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("no terraform binary on PATH (optional here: providers cannot be downloaded, only `fmt` would run)")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM_DIR)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1"),
    )
    assert result.returncode == 0, f"run `terraform fmt -recursive terraform/`:\n{result.stdout}{result.stderr}"


def test_docs_list_every_checkov_skip():
    """docs/infrastructure.md explains each in-line skip, so a new skip needs a documented reason."""
    docs = (REPO_ROOT / "docs" / "infrastructure.md").read_text()
    ids = {m.group(1) for f in tf_files() for m in _SKIP_RE.finditer(f.read_text())}
    assert ids, "expected the documented skips to exist"
    undocumented = sorted(i for i in ids if i not in docs)
    assert not undocumented, f"checkov skips missing from docs/infrastructure.md: {undocumented}"
    assert "python -m pipelines.cloud_settings --tf-output" in docs
