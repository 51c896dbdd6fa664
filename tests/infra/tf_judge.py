"""Who decides whether Terraform accepts a set of variable values: Terraform, or the fallback.

``terraform_judge()`` returns the judge the tests use:

- :class:`TerraformJudge` when a ``terraform`` binary is on PATH (the normal case). It copies
  the ``variable`` blocks of a module or environment (the files that declare them, nothing
  else, plus the directory's ``required_version``) into a scratch folder, runs ``terraform
  init`` there once (no providers, no backend: offline), and then one ``terraform plan
  -refresh=false -lock=false -json -var-file=...`` per set of values. Terraform evaluates every
  ``validation`` block itself (its own HCL, its own ``&&``/``||`` semantics, Go's RE2 regular
  expressions, its type conversions) and names each rejecting block by file and line, which
  is mapped back to (variable, index of its validation block).
- :class:`EvaluatorJudge`, the fallback when there is no terraform binary: the validation
  conditions parsed by python-hcl2 and evaluated by ``tests/infra/hcl_expr.py``. It differs
  from Terraform in known ways (Python ``re`` instead of RE2, e.g. ``$`` also matches before a
  final newline; no type conversion checks; ``&&``/``||`` either never short-circuit, as in
  Terraform < 1.12, or always, as in >= 1.12).

Set ``MLOPS_INFRA_JUDGE=hcl_expr`` to force the fallback (to check that it still passes).
Values for one run are given as :class:`Inputs`: var-files (real ``.tfvars`` files, passed to
Terraform as they are) and a dict of values that override them.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from hcl_expr import eval_condition
from tfparse import REPO_ROOT, named, parse_hcl, terraform_blocks, tf_files

FORCE_ENV = "MLOPS_INFRA_JUDGE"
# Parallel `terraform plan` processes: each is mostly start-up and I/O (about 70 ms of CPU),
# so 4 keep a 2-core machine busy (measured: 20 plans take 4.9 s serially, 2.5 s with 4).
PLAN_WORKERS = 4


class JudgeError(RuntimeError):
    """Terraform said something the judge cannot attribute to a variable."""


@dataclass(frozen=True)
class Inputs:
    """What one run sets: var-files first (in order), then ``values`` on top."""

    var_files: tuple[Path, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)

    def key(self) -> str:
        return json.dumps([[str(p) for p in self.var_files], self.values], sort_keys=True, default=str)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one run.

    ``validations``: variable -> indices of its ``validation`` blocks that rejected the value
    (a condition that is false or fails to evaluate). ``other``: variable -> messages of other
    rejections, e.g. a value Terraform cannot convert to the variable's type.
    """

    validations: Mapping[str, frozenset[int]]
    other: Mapping[str, tuple[str, ...]]
    messages: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.validations and not self.other

    def rejects(self, variable: str) -> bool:
        return variable in self.validations or variable in self.other

    def describe(self) -> str:
        return "; ".join(self.messages) or "accepted"


class Judge:
    name = "abstract"
    description = ""

    def verdict(self, directory: Path, inputs: Inputs) -> Verdict:
        raise NotImplementedError

    def verdicts(self, requests: Iterable[tuple[Path, Inputs]]) -> list[Verdict]:
        return [self.verdict(d, i) for d, i in requests]


# --------------------------------------------------------------------------------------
# The fallback
# --------------------------------------------------------------------------------------


class EvaluatorJudge(Judge):
    """Evaluates the parsed conditions with tests/infra/hcl_expr.py."""

    def __init__(self, short_circuit: bool = False, reason: str = ""):
        self.short_circuit = short_circuit
        self.name = "hcl_expr"
        mode = "short-circuit &&/||, as Terraform >= 1.12" if short_circuit else "no short-circuit, as Terraform < 1.12"
        self.description = f"tests/infra/hcl_expr.py ({mode}){': ' + reason if reason else ''}"

    def values(self, directory: Path, inputs: Inputs) -> dict[str, Any]:
        values = {n: b.get("default") for n, b in named(directory, "variable").items()}
        for path in inputs.var_files:
            values.update({k: v for k, v in parse_hcl(path).items() if not k.startswith("__")})
        values.update(inputs.values)
        return values

    def verdict(self, directory: Path, inputs: Inputs) -> Verdict:
        values = self.values(directory, inputs)
        rejected: dict[str, frozenset[int]] = {}
        messages = []
        for name, body in named(directory, "variable").items():
            failed = [
                i
                for i, v in enumerate(body.get("validation", []))
                if not eval_condition(v["condition"], values, short_circuit=self.short_circuit)
            ]
            if failed:
                rejected[name] = frozenset(failed)
                messages += [f"{name}: validation {i} rejects {values.get(name)!r}" for i in failed]
        return Verdict(rejected, {}, tuple(messages))


# --------------------------------------------------------------------------------------
# Terraform
# --------------------------------------------------------------------------------------

_VARIABLE_START = re.compile(r'^variable\s+"([^"]+)"\s*\{')
_VALIDATION_START = re.compile(r"^\s+validation\s*\{")
_CHECKED_AT = re.compile(r"This was checked by the validation rule at (\S+?):(\d+),\d+-\d+\.")
_DECLARED_VAR = re.compile(r"\bvar\.([A-Za-z_][\w-]*)")


def terraform_env() -> dict[str, str]:
    """The environment for the terraform runs: no prompts, no update checks, and none of the
    caller's TF_VAR_* / TF_CLI_ARGS* (they would change the values under test)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_VAR_", "TF_CLI_ARGS", "TF_WORKSPACE"))}
    env.update(TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1")
    return env


def terraform_version(binary: str) -> str:
    out = subprocess.run([binary, "version", "-json"], capture_output=True, text=True, timeout=60, env=terraform_env())
    if out.returncode != 0:
        raise JudgeError(f"`{binary} version -json` failed: {out.stderr}")
    return json.loads(out.stdout)["terraform_version"]


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", version)[:3])


@dataclass
class _Copy:
    path: Path
    # (file name, line) of each `validation` keyword -> (variable, index)
    validation_at: dict[tuple[str, int], tuple[str, int]]
    # file name -> sorted [(first line, variable, validation index or None)]
    blocks: dict[str, list[tuple[int, str, int | None]]]

    def block_at(self, filename: str, line: int) -> tuple[str, int | None] | None:
        found = None
        for start, var, idx in self.blocks.get(Path(filename).name, []):
            if start <= line:
                found = (var, idx)
        return found


class TerraformJudge(Judge):
    def __init__(self, binary: str, workdir: Path | None = None):
        self.binary = binary
        self.version = terraform_version(binary)
        self.name = "terraform"
        self.description = f"terraform {self.version} ({binary}): `terraform plan` of a variables-only copy"
        if workdir is None:
            workdir = Path(tempfile.mkdtemp(prefix="infra-tf-judge-"))
            atexit.register(shutil.rmtree, workdir, True)
        self.workdir = Path(workdir)
        self._copies: dict[Path, _Copy] = {}
        self._cache: dict[tuple[Path, str], Verdict] = {}
        self._lock = threading.Lock()
        self._serial = itertools.count()

    # -- preparing a directory ---------------------------------------------------------

    def _copy(self, directory: Path) -> _Copy:
        directory = directory.resolve()
        with self._lock:
            if directory not in self._copies:
                self._copies[directory] = self._make_copy(directory)
            return self._copies[directory]

    def _make_copy(self, directory: Path) -> _Copy:
        try:
            key = str(directory.relative_to(REPO_ROOT))
        except ValueError:
            key = str(directory)
        dest = self.workdir / re.sub(r"[^A-Za-z0-9_.-]+", "_", key).strip("_")
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        validation_at: dict[tuple[str, int], tuple[str, int]] = {}
        blocks: dict[str, list[tuple[int, str, int | None]]] = {}
        copied = 0
        for src in tf_files(directory):
            parsed = parse_hcl(src)
            kinds = {k for k in parsed if not k.startswith("__")}
            if "variable" not in kinds:
                continue
            if kinds != {"variable"}:
                raise JudgeError(
                    f"{src} declares variables next to {sorted(kinds - {'variable'})}: keep `variable` blocks in "
                    "files of their own, so a variables-only copy can be planned without providers"
                )
            text = src.read_text(encoding="utf-8")
            (dest / src.name).write_text(text, encoding="utf-8")
            copied += 1
            current, count, entries = None, 0, []
            for n, line in enumerate(text.splitlines(), 1):
                m = _VARIABLE_START.match(line)
                if m:
                    current, count = m.group(1), 0
                    entries.append((n, current, None))
                elif current and _VALIDATION_START.match(line):
                    validation_at[(src.name, n)] = (current, count)
                    entries.append((n, current, count))
                    count += 1
            blocks[src.name] = entries
        if not copied:
            raise JudgeError(f"{directory} declares no variables")
        # The variables-only copy must still be judged by a Terraform the directory allows.
        required = [b["required_version"] for b in terraform_blocks(directory) if "required_version" in b]
        if required:
            (dest / "judge_versions.tf").write_text(
                "".join(f"terraform {{\n  required_version = {json.dumps(r)}\n}}\n" for r in required)
            )
        self._check_block_count(directory, validation_at)
        init = self._run(["init", "-input=false", "-backend=false", "-no-color"], dest)
        if init.returncode != 0:
            raise JudgeError(f"terraform init of the variables-only copy of {directory} failed:\n{init.stdout}{init.stderr}")
        return _Copy(dest, validation_at, blocks)

    @staticmethod
    def _check_block_count(directory: Path, validation_at: dict[tuple[str, int], tuple[str, int]]) -> None:
        """The line scan found exactly the validation blocks python-hcl2 parses."""
        scanned: dict[str, int] = {}
        for var, _ in validation_at.values():
            scanned[var] = scanned.get(var, 0) + 1
        parsed = {n: len(b.get("validation", [])) for n, b in named(directory, "variable").items() if b.get("validation")}
        if scanned != parsed:
            raise JudgeError(f"{directory}: validation blocks found by line scan {scanned} != parsed {parsed}")

    def _run(self, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.binary, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=terraform_env()
        )

    # -- judging ---------------------------------------------------------------------

    def verdict(self, directory: Path, inputs: Inputs) -> Verdict:
        cache_key = (directory.resolve(), inputs.key())
        with self._lock:
            if cache_key in self._cache:
                return self._cache[cache_key]
        copy = self._copy(directory)
        args = ["plan", "-input=false", "-refresh=false", "-lock=false", "-json"]
        for path in inputs.var_files:
            args.append(f"-var-file={Path(path).resolve()}")
        values_file = None
        if inputs.values:
            digest = hashlib.sha256(inputs.key().encode()).hexdigest()[:16]
            values_file = copy.path / f"judge-{digest}-{next(self._serial)}.tfvars.json"
            values_file.write_text(json.dumps(dict(inputs.values)))
            args.append(f"-var-file={values_file.name}")
        try:
            result = self._run(args, copy.path)
        finally:
            if values_file is not None:
                values_file.unlink()
        verdict = self._parse(directory, copy, result)
        with self._lock:
            self._cache[cache_key] = verdict
        return verdict

    def verdicts(self, requests: Iterable[tuple[Path, Inputs]]) -> list[Verdict]:
        requests = list(requests)
        for d in {d.resolve() for d, _ in requests}:
            self._copy(d)  # one init per directory, before the parallel plans
        unique = list({(d.resolve(), i.key()): (d, i) for d, i in requests}.values())
        with ThreadPoolExecutor(max_workers=PLAN_WORKERS) as pool:
            list(pool.map(lambda r: self.verdict(*r), unique))
        return [self.verdict(d, i) for d, i in requests]  # from the cache

    def _parse(self, directory: Path, copy: _Copy, result: subprocess.CompletedProcess) -> Verdict:
        diagnostics = []
        for line in result.stdout.splitlines():
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if msg.get("type") == "diagnostic" and msg["diagnostic"].get("severity") == "error":
                diagnostics.append(msg["diagnostic"])
        if result.returncode == 0 and not diagnostics:
            return Verdict({}, {}, ())
        if result.returncode == 0 or not diagnostics:
            raise JudgeError(
                f"terraform plan of {directory} exited {result.returncode} with {len(diagnostics)} error(s):\n"
                f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        validations: dict[str, set[int]] = {}
        other: dict[str, list[str]] = {}
        messages = []
        for diag in diagnostics:
            text = f"{diag.get('summary', '')}: {diag.get('detail', '')}".strip()
            checked = _CHECKED_AT.search(diag.get("detail", ""))
            rng = diag.get("range") or {}
            if checked:  # "Invalid value for variable": the condition is false
                var, idx = copy.validation_at[(Path(checked.group(1)).name, int(checked.group(2)))]
                validations.setdefault(var, set()).add(idx)
                messages.append(f"{var}: validation {idx}: {diag.get('detail', '').split(chr(10))[0]}")
                continue
            block = copy.block_at(rng["filename"], rng["start"]["line"]) if rng.get("filename") else None
            if block and block[1] is not None:  # the condition fails to evaluate
                var, idx = block
                validations.setdefault(var, set()).add(idx)
                messages.append(f"{var}: validation {idx} fails to evaluate: {text}")
                continue
            declared = _DECLARED_VAR.search(diag.get("detail", ""))
            var = declared.group(1) if declared else (block[0] if block else None)
            if var is None:
                raise JudgeError(f"terraform plan of {directory}: cannot tell which variable this is about: {json.dumps(diag)}")
            other.setdefault(var, []).append(text)
            messages.append(f"{var}: {text}")
        return Verdict(
            {k: frozenset(v) for k, v in validations.items()},
            {k: tuple(v) for k, v in other.items()},
            tuple(messages),
        )


# --------------------------------------------------------------------------------------
# Choosing
# --------------------------------------------------------------------------------------

_JUDGE: Judge | None = None
_JUDGE_LOCK = threading.Lock()


def terraform_binary() -> str | None:
    return shutil.which("terraform")


def judge_name() -> str:
    """Which judge the tests will use, without starting it (for test ids at collection)."""
    if os.environ.get(FORCE_ENV) == "hcl_expr" or terraform_binary() is None:
        return "hcl_expr"
    return "terraform"


def terraform_judge() -> Judge:
    global _JUDGE
    with _JUDGE_LOCK:
        if _JUDGE is None:
            binary = terraform_binary()
            if os.environ.get(FORCE_ENV) == "hcl_expr":
                _JUDGE = EvaluatorJudge(reason=f"forced by {FORCE_ENV}=hcl_expr")
            elif binary is None:
                _JUDGE = EvaluatorJudge(reason="fallback, no terraform binary on PATH")
            else:
                _JUDGE = TerraformJudge(binary)
        return _JUDGE
