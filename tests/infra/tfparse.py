"""Helpers for the Terraform tests: locate the repo, parse every .tf file once (cached)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Iterator

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
TERRAFORM_DIR = REPO_ROOT / "terraform"
DATA_DIR = HERE / "data"


def _hcl2():
    try:
        import hcl2
        from hcl2 import SerializationOptions
    except ImportError as exc:  # pragma: no cover - the runner script installs it
        raise RuntimeError(
            "python-hcl2 is not installed in this interpreter; run the tests with infra/scripts/test-infra.sh"
        ) from exc
    return hcl2, SerializationOptions


@functools.lru_cache(maxsize=None)
def parse_hcl(path: Path) -> dict[str, Any]:
    """Parses one HCL file (.tf, .tfvars, .hcl) with quotes stripped from labels and strings."""
    hcl2, options = _hcl2()
    with open(path, encoding="utf-8") as f:
        return hcl2.load(f, serialization_options=options(strip_string_quotes=True))


def tf_dirs() -> list[Path]:
    """Every directory under terraform/ that holds .tf files (modules and roots)."""
    return sorted({p.parent for p in TERRAFORM_DIR.rglob("*.tf") if ".terraform" not in p.parts})


def module_dirs() -> list[Path]:
    return [d for d in tf_dirs() if "modules" in d.relative_to(TERRAFORM_DIR).parts]


def root_dirs() -> list[Path]:
    """The root configurations, one per cloud (terraform/aws, terraform/gcp)."""
    return [d for d in tf_dirs() if "modules" not in d.relative_to(TERRAFORM_DIR).parts]


def environments(root: Path) -> list[str]:
    """The environments of a root: one ``env/<name>.tfvars`` each."""
    return sorted(p.stem for p in (root / "env").glob("*.tfvars"))


def env_targets() -> list[tuple[Path, str]]:
    """Every ``(root, environment)`` pair: what one `terraform plan -var-file=env/<env>.tfvars` sees."""
    return [(root, env) for root in root_dirs() for env in environments(root)]


def target_id(root: Path, env: str | None = None) -> str:
    """``aws[dev]`` for a root with one environment's settings, ``modules/x`` for a module."""
    name = str(root.relative_to(TERRAFORM_DIR))
    return f"{name}[{env}]" if env else name


def env_var_files(root: Path, env: str) -> tuple[Path, Path]:
    """The var-files of one environment in the order Terraform reads them: the operator's
    terraform.tfvars (here its example, which it is copied from) first, then env/<env>.tfvars."""
    return root / "terraform.tfvars.example", root / "env" / f"{env}.tfvars"


def tfvars(path: Path) -> dict[str, Any]:
    """The values a .tfvars file sets."""
    return {k: v for k, v in parse_hcl(path).items() if not k.startswith("__")}


def env_values(root: Path, env: str) -> dict[str, Any]:
    """``{variable: value}`` of one environment: defaults, then its var-files on top."""
    values = variable_defaults(root)
    for f in env_var_files(root, env):
        values.update(tfvars(f))
    return values


def tf_files(directory: Path | None = None) -> list[Path]:
    if directory is not None:
        return sorted(directory.glob("*.tf"))
    return sorted(p for p in TERRAFORM_DIR.rglob("*.tf") if ".terraform" not in p.parts)


def rel(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def blocks(directory: Path, kind: str) -> list[tuple[Path, dict[str, Any]]]:
    """All top-level blocks of one kind (``variable``, ``resource``, ...) in a directory."""
    out = []
    for f in tf_files(directory):
        for block in parse_hcl(f).get(kind, []):
            out.append((f, block))
    return out


def named(directory: Path, kind: str) -> dict[str, dict[str, Any]]:
    """``{name: body}`` for single-label blocks: variable, output, module."""
    out: dict[str, dict[str, Any]] = {}
    for _, block in blocks(directory, kind):
        for name, body in block.items():
            if name.startswith("__"):
                continue
            out[name] = body
    return out


def resources(directory: Path, kind: str = "resource") -> Iterator[tuple[Path, str, str, dict[str, Any]]]:
    """Yields ``(file, type, name, body)`` for every resource (or data) block."""
    for f, block in blocks(directory, kind):
        for rtype, by_name in block.items():
            if rtype.startswith("__"):
                continue
            for rname, body in by_name.items():
                if rname.startswith("__"):
                    continue
                yield f, rtype, rname, body


def locals_of(directory: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _, block in blocks(directory, "locals"):
        out.update({k: v for k, v in block.items() if not k.startswith("__")})
    return out


def module_source_dir(directory: Path, call: dict[str, Any]) -> Path:
    """The directory a ``module`` block with a local ``source`` points to."""
    return (directory / call["source"]).resolve()


def terraform_blocks(directory: Path) -> list[dict[str, Any]]:
    return [b for _, b in blocks(directory, "terraform")]


def walk_strings(value: Any) -> Iterator[str]:
    """Every string (keys included) inside a parsed HCL value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and not k.startswith("__"):
                yield k
            if k == "__comments__":
                continue
            yield from walk_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk_strings(v)


def variable_defaults(directory: Path) -> dict[str, Any]:
    """Declared default of every variable (``None`` when there is none or it is null)."""
    return {name: body.get("default") for name, body in named(directory, "variable").items()}

