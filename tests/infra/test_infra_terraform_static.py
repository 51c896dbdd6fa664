"""Static checks of terraform/: parse every file with python-hcl2 and cross-check it.

`terraform validate` needs provider plugins, which cannot be downloaded here, so these
tests check what it would (declared variables, locals, modules, resources) plus the
project's own rules: typed and described variables, described outputs, pinned versions,
required tags/labels, and no account IDs, project IDs or secrets in the code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hcl_expr import eval_expression
from tfparse import (
    REPO_ROOT,
    TERRAFORM_DIR,
    blocks,
    env_targets,
    env_values,
    environments,
    locals_of,
    module_dirs,
    module_source_dir,
    named,
    parse_hcl,
    rel,
    resources,
    root_dirs,
    target_id,
    terraform_blocks,
    tf_dirs,
    tf_files,
    tfvars,
    walk_strings,
)

ALL_DIRS = tf_dirs()
DIR_IDS = [rel(d) for d in ALL_DIRS]
ROOTS = root_dirs()
ROOT_IDS = [rel(d) for d in ROOTS]
TARGETS = env_targets()
TARGET_IDS = [target_id(r, e) for r, e in TARGETS]

REQUIRED_AWS_TAGS = ("Project", "Environment", "ManagedBy", "Owner", "CostCenter")
REQUIRED_GCP_LABELS = ("project", "environment", "managed-by", "owner", "cost-center")
# Azure tags are free-form like AWS's: the same keys, set by the module on every resource
# (azurerm has no provider-wide default tags).
REQUIRED_AZURE_TAGS = REQUIRED_AWS_TAGS

# Every resource type the code uses must be classified, so a new one forces a decision.
AWS_TAGGABLE = {
    "aws_cloudwatch_log_group",
    "aws_ecr_repository",
    "aws_eks_addon",
    "aws_eks_cluster",
    "aws_eks_node_group",
    "aws_eks_pod_identity_association",
    "aws_iam_openid_connect_provider",
    "aws_iam_policy",
    "aws_iam_role",
    "aws_kms_key",
    "aws_launch_template",
    "aws_s3_bucket",
    "aws_security_group",
}
GCP_LABELABLE = {
    # resource type -> attribute path holding the labels
    "google_artifact_registry_repository": ("labels",),
    "google_container_cluster": ("resource_labels",),
    "google_container_node_pool": ("node_config", "resource_labels"),
    "google_kms_crypto_key": ("labels",),
    "google_storage_bucket": ("labels",),
}
AZURE_TAGGABLE = {
    "azurerm_container_registry",
    "azurerm_kubernetes_cluster",
    "azurerm_kubernetes_cluster_node_pool",
    "azurerm_log_analytics_workspace",
    "azurerm_resource_group",
    "azurerm_storage_account",
    "azurerm_user_assigned_identity",
}
NOT_TAGGABLE = {
    "aws_autoscaling_group_tag",
    "aws_ecr_lifecycle_policy",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_kms_alias",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_logging",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
    "azurerm_federated_identity_credential",
    "azurerm_monitor_diagnostic_setting",
    "azurerm_role_assignment",
    "azurerm_storage_container",
    "azurerm_storage_management_policy",
    "google_artifact_registry_repository_iam_member",
    "google_kms_crypto_key_iam_member",
    "google_project_iam_member",
    "google_project_service",
    "google_service_account",
    "google_service_account_iam_member",
    "google_storage_bucket_iam_member",
    "helm_release",
}

_INTERP = "${"
_VAR_RE = re.compile(r"(?<![\w.])var\.([A-Za-z_][\w-]*)")
_LOCAL_RE = re.compile(r"(?<![\w.])local\.([A-Za-z_][\w-]*)")
_MODULE_RE = re.compile(r"(?<![\w.])module\.([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)")
_DATA_RE = re.compile(r"(?<![\w.])data\.([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)")
_RESOURCE_RE = re.compile(r"(?<![\w.\"/-])((?:aws|azurerm|google|helm|tls|kubernetes)_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")


def _expressions(directory: Path) -> list[tuple[Path, str]]:
    """Every interpolated expression string of every file in the directory."""
    out = []
    for f in tf_files(directory):
        for s in walk_strings(parse_hcl(f)):
            if _INTERP in s:
                out.append((f, s))
    return out


# --------------------------------------------------------------------------------------
# Parsing and references
# --------------------------------------------------------------------------------------


def test_layout_has_modules_and_one_root_per_cloud():
    mods = {d.name for d in module_dirs()}
    assert {"aws_gpu_training", "azure_gpu_training", "gcp_gpu_training"} <= mods
    assert ROOT_IDS == ["terraform/aws", "terraform/azure", "terraform/gcp"], "one root configuration per cloud, environments as env/*.tfvars"
    assert not (TERRAFORM_DIR / "envs").exists(), "environments are env/<env>.tfvars of a root, not folders"
    for d in ALL_DIRS:
        names = {f.name for f in tf_files(d)}
        missing = {"main.tf", "variables.tf", "outputs.tf", "versions.tf"} - names
        assert not missing, f"{rel(d)} lacks {sorted(missing)} (module/root layout)"


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_every_environment_has_settings_and_a_backend_file(root):
    """env/<env>.tfvars and env/<env>.backend.hcl come in pairs; dev and prod exist."""
    assert {"dev", "prod"} <= set(environments(root)), f"{rel(root)}/env: expected dev.tfvars and prod.tfvars"
    backends = sorted(p.name.removesuffix(".backend.hcl") for p in (root / "env").glob("*.backend.hcl"))
    assert backends == environments(root), f"{rel(root)}/env: settings {environments(root)} but backend files {backends}"
    others = sorted(p.name for p in (root / "env").iterdir() if not p.name.endswith((".tfvars", ".backend.hcl")))
    assert not others, f"{rel(root)}/env holds only <env>.tfvars and <env>.backend.hcl, not {others}"


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_environment_files_differ_only_in_deliberate_settings(root):
    """Each env/<env>.tfvars names its own environment, and a variable that one environment sets
    and another does not is one the operator's terraform.tfvars sets too: no environment silently
    falls back to a default that another one overrides (prod may pin what the operator chose)."""
    settings = {env: tfvars(root / "env" / f"{env}.tfvars") for env in environments(root)}
    keys = [set(values) for values in settings.values()]
    only_some = set.union(*keys) - set.intersection(*keys)
    unset = sorted(only_some - set(tfvars(root / "terraform.tfvars.example")))
    assert not unset, f"{rel(root)}/env/*.tfvars: {unset} set for some environments only, and not in terraform.tfvars.example"
    for env, values in settings.items():
        assert values.get("environment") == env, f"{rel(root)}/env/{env}.tfvars must set environment = {env!r}"
    differing = {k for k in set.intersection(*keys) if settings["dev"][k] != settings["prod"][k]}
    assert len(differing) >= 3, f"{rel(root)}: dev and prod should differ in their settings, differ only in {differing}"


HCL_FILES = sorted(
    p
    for p in TERRAFORM_DIR.rglob("*")
    if p.is_file() and ".terraform" not in p.parts and p.name.endswith((".tf", ".tfvars", ".hcl", ".hcl.example", ".tfvars.example"))
)


@pytest.mark.parametrize("path", HCL_FILES, ids=lambda p: rel(p))
def test_every_hcl_file_parses(path):
    """.tf files, env settings, backend files and examples."""
    parsed = parse_hcl(path)
    assert isinstance(parsed, dict)
    if path.suffix != ".tf":
        assert tfvars(path), f"{rel(path)} sets nothing"


@pytest.mark.parametrize("directory", ALL_DIRS, ids=DIR_IDS)
def test_every_reference_is_declared(directory):
    variables = set(named(directory, "variable"))
    local_names = set(locals_of(directory))
    modules = named(directory, "module")
    data = {(t, n) for _, t, n, _ in resources(directory, "data")}
    res = {(t, n) for _, t, n, _ in resources(directory, "resource")}
    problems = []
    for f, expr in _expressions(directory):
        where = f"{rel(f)}: {expr[:80]!r}"
        problems += [f"{where}: var.{v} is not declared" for v in _VAR_RE.findall(expr) if v not in variables]
        problems += [f"{where}: local.{v} is not declared" for v in _LOCAL_RE.findall(expr) if v not in local_names]
        for mod, output in _MODULE_RE.findall(expr):
            if mod not in modules:
                problems.append(f"{where}: module.{mod} is not declared")
                continue
            outputs = named(module_source_dir(directory, modules[mod]), "output")
            if output not in outputs:
                problems.append(f"{where}: module.{mod} has no output {output!r}")
        problems += [f"{where}: data.{t}.{n} is not declared" for t, n in _DATA_RE.findall(expr) if (t, n) not in data]
        for t, n in _RESOURCE_RE.findall(expr):
            if (t, n) not in res:
                problems.append(f"{where}: resource {t}.{n} is not declared")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("directory", ALL_DIRS, ids=DIR_IDS)
def test_variables_are_typed_and_described(directory):
    problems = []
    variables = named(directory, "variable")
    for name, body in variables.items():
        if not body.get("type"):
            problems.append(f"variable {name!r} has no type")
        if not str(body.get("description", "")).strip():
            problems.append(f"variable {name!r} has no description")
        for i, v in enumerate(body.get("validation", [])):
            if not v.get("condition") or not str(v.get("error_message", "")).strip():
                problems.append(f"variable {name!r} validation {i} lacks a condition or an error_message")
    assert variables, f"{rel(directory)} declares no variables"
    assert not problems, f"{rel(directory)}: " + "; ".join(problems)


ROOT_VARIABLES = [(root, name) for root in ROOTS for name in named(root, "variable")]


@pytest.mark.parametrize("root,name", ROOT_VARIABLES, ids=[f"{rel(r)}:{n}" for r, n in ROOT_VARIABLES])
def test_root_variable_is_validated(root, name):
    """A wrong value stops at the root's variables: by a validation block of its own, by its type
    where the type is the whole domain (bool), or by the validation of the module variable it is
    handed to unchanged (test_infra_validations.py shows each such block rejecting)."""
    body = named(root, "variable")[name]
    how = []
    if body.get("validation"):
        how.append("own validation")
    if body.get("type") in ("bool", "${bool}"):
        how.append("bool type")
    for mod_name, call in named(root, "module").items():
        mod_vars = named(module_source_dir(root, call), "variable")
        for arg, expr in call.items():
            if expr == f"${{var.{name}}}" and mod_vars.get(arg, {}).get("validation"):
                how.append(f"module.{mod_name}.{arg}")
    assert how, (
        f"{rel(root)}: variable {name!r} is not validated: add a validation block (or pass it unchanged "
        "to a module variable that validates it)"
    )


@pytest.mark.parametrize("directory", ALL_DIRS, ids=DIR_IDS)
def test_outputs_are_described(directory):
    outputs = named(directory, "output")
    assert outputs, f"{rel(directory)} declares no outputs"
    undocumented = [n for n, body in outputs.items() if not str(body.get("description", "")).strip()]
    assert not undocumented, f"{rel(directory)}: outputs without description: {undocumented}"


@pytest.mark.parametrize("directory", ALL_DIRS, ids=DIR_IDS)
def test_declared_variables_and_locals_are_used(directory):
    used_vars, used_locals = set(), set()
    for _, expr in _expressions(directory):
        used_vars |= set(_VAR_RE.findall(expr))
        used_locals |= set(_LOCAL_RE.findall(expr))
    unused = sorted(set(named(directory, "variable")) - used_vars)
    assert not unused, f"{rel(directory)}: variables declared but never used: {unused}"
    unused_locals = sorted(set(locals_of(directory)) - used_locals)
    assert not unused_locals, f"{rel(directory)}: locals declared but never used: {unused_locals}"


# --------------------------------------------------------------------------------------
# Versions and sources
# --------------------------------------------------------------------------------------

_BOUNDED = re.compile(r"(~>\s*\d+\.\d+)|(<\s*\d)|(^\s*=?\s*\d+\.\d+\.\d+\s*$)")


def _bounded(constraint: str) -> bool:
    """A lower and an upper bound (``>= a, < b``), a pessimistic pin (``~> x.y``) or an exact version."""
    return bool(_BOUNDED.search(constraint)) and bool(re.search(r"\d", constraint))


@pytest.mark.parametrize("directory", ALL_DIRS, ids=DIR_IDS)
def test_terraform_and_provider_versions_are_pinned(directory):
    tblocks = terraform_blocks(directory)
    assert len(tblocks) == 1, f"{rel(directory)}: expected one terraform block (versions.tf), found {len(tblocks)}"
    tb = tblocks[0]
    required = str(tb.get("required_version", ""))
    assert ">=" in required and _bounded(required), f"{rel(directory)}: required_version {required!r} needs a lower and an upper bound"

    providers = {}
    for rp in tb.get("required_providers", []):
        providers.update({k: v for k, v in rp.items() if not k.startswith("__")})
    for name, spec in providers.items():
        assert isinstance(spec, dict) and spec.get("source"), f"{rel(directory)}: provider {name!r} has no source"
        version = str(spec.get("version", ""))
        assert _bounded(version), f"{rel(directory)}: provider {name!r} version {version!r} is not pinned (use ~> or >=,<)"

    used = {t.split("_", 1)[0] for kind in ("resource", "data") for _, t, _, _ in resources(directory, kind)}
    used |= {name for _, b in blocks(directory, "provider") for name in b if not name.startswith("__")}
    missing = sorted(used - set(providers))
    assert not missing, f"{rel(directory)}: providers used but not in required_providers: {missing}"


@pytest.mark.parametrize("directory", ALL_DIRS, ids=DIR_IDS)
def test_module_sources_are_pinned(directory):
    for name, body in named(directory, "module").items():
        source = body.get("source", "")
        if source.startswith(("./", "../")):
            target = module_source_dir(directory, body)
            assert target.is_dir() and list(target.glob("*.tf")), f"module {name!r}: local source {source!r} has no .tf files"
            assert TERRAFORM_DIR in target.parents, f"module {name!r}: local source {source!r} leaves terraform/"
        elif source.startswith(("git::", "github.com/")) or "://" in source:
            assert re.search(r"[?&]ref=[\w.-]+", source), f"module {name!r}: remote source {source!r} needs ?ref=<tag or sha>"
        else:  # registry module
            version = str(body.get("version", ""))
            assert re.fullmatch(r"\s*(=\s*)?\d+\.\d+\.\d+\s*|\s*~>\s*\d+\.\d+(\.\d+)?\s*", version), (
                f"module {name!r}: registry source {source!r} needs a pinned version, got {version!r}"
            )


@pytest.mark.parametrize("directory", ROOTS, ids=ROOT_IDS)
def test_module_calls_match_module_variables(directory):
    modules = named(directory, "module")
    assert modules, f"{rel(directory)}: a root should call a module"
    meta = {"source", "version", "providers", "depends_on", "count", "for_each"}
    for name, body in modules.items():
        mod_vars = named(module_source_dir(directory, body), "variable")
        args = {k for k in body if not k.startswith("__")} - meta
        unknown = sorted(args - set(mod_vars))
        assert not unknown, f"{rel(directory)}: module {name!r} passes undeclared inputs {unknown}"
        required = sorted(v for v, b in mod_vars.items() if "default" not in b)
        missing = [v for v in required if v not in args]
        assert not missing, f"{rel(directory)}: module {name!r} does not pass required inputs {missing}"


@pytest.mark.parametrize("directory,env", TARGETS, ids=TARGET_IDS)
def test_environment_has_remote_state_with_locking(directory, env):
    backends = terraform_blocks(directory)[0].get("backend", [])
    assert len(backends) == 1, f"{rel(directory)}: expected exactly one backend block"
    (kind, block), = [(k, v) for k, v in backends[0].items() if not k.startswith("__")]
    block = {k: v for k, v in block.items() if not k.startswith("__")}
    # Partial configuration: the root's block holds what every environment shares, the state
    # key of each environment is in env/<env>.backend.hcl, the bucket in backend.hcl (git-ignored).
    env_file = directory / "env" / f"{env}.backend.hcl"
    env_cfg = tfvars(env_file)
    where = f"{rel(directory)} with {rel(env_file)}"
    if kind == "s3":
        assert directory.name == "aws", f"{rel(directory)}: only AWS keeps state in S3"
        assert block.get("use_lockfile") is True, f"{rel(directory)}: S3 backend needs use_lockfile = true"
        assert block.get("encrypt") is True, f"{rel(directory)}: S3 backend needs encrypt = true"
        assert "dynamodb_table" not in block, "use_lockfile replaces the deprecated DynamoDB lock table"
        assert set(env_cfg) == {"key"}, f"{rel(env_file)} sets only the state key, not {sorted(env_cfg)}"
        assert f"/{env}/" in env_cfg["key"], f"{where}: state key should name the environment"
    elif kind == "azurerm":
        assert directory.name == "azure", f"{rel(directory)}: only Azure keeps state in a storage account"
        # The azurerm backend locks with a blob lease (always on); no account key in the state config.
        assert block.get("use_azuread_auth") is True, f"{rel(directory)}: azurerm backend needs use_azuread_auth = true"
        assert set(env_cfg) == {"key"}, f"{rel(env_file)} sets only the state key, not {sorted(env_cfg)}"
        assert f"/{env}/" in env_cfg["key"], f"{where}: state key should name the environment"
    else:
        assert (kind, directory.name) == ("gcs", "gcp"), f"{rel(directory)}: GCP keeps state in GCS"
        assert set(env_cfg) == {"prefix"}, f"{rel(env_file)} sets only the state prefix, not {sorted(env_cfg)}"
        assert env_cfg["prefix"].endswith(f"/{env}"), f"{where}: state prefix should name the environment"
    assert not {"key", "prefix"} & set(block), f"{rel(directory)}: the state key belongs in env/<env>.backend.hcl"
    assert "bucket" not in block, f"{rel(directory)}: keep the account-specific bucket out of git (backend.hcl)"
    example = directory / "backend.hcl.example"
    assert example.is_file(), f"{rel(directory)}: missing backend.hcl.example"
    assert ("storage_account_name" if kind == "azurerm" else "bucket") in parse_hcl(example)
    assert not {"storage_account_name", "access_key", "sas_token"} & set(block), (
        f"{rel(directory)}: keep the state account and any key out of git (backend.hcl)"
    )


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_environments_keep_separate_state(root):
    state = [tuple(tfvars(root / "env" / f"{env}.backend.hcl").values()) for env in environments(root)]
    assert len(set(state)) == len(state) == len(environments(root)), f"{rel(root)}: environments share state: {state}"


# --------------------------------------------------------------------------------------
# Tags and labels
# --------------------------------------------------------------------------------------


def _get_path(body: dict, path: tuple[str, ...]):
    node = body
    for key in path:
        if isinstance(node, list):
            node = node[0] if node else {}
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


@pytest.mark.parametrize("directory", ALL_DIRS, ids=DIR_IDS)
def test_every_resource_type_is_classified_for_tags(directory):
    unknown = sorted(
        {t for _, t, _, _ in resources(directory)} - AWS_TAGGABLE - AZURE_TAGGABLE - set(GCP_LABELABLE) - NOT_TAGGABLE
    )
    assert not unknown, (
        f"{rel(directory)}: resource types {unknown} are not classified; add them to AWS_TAGGABLE, "
        "AZURE_TAGGABLE, GCP_LABELABLE or NOT_TAGGABLE in this test (and tag them if they support tags)"
    )


@pytest.mark.parametrize("directory", module_dirs(), ids=[rel(d) for d in module_dirs()])
def test_module_tags_or_labels_every_taggable_resource(directory):
    module_locals = locals_of(directory)
    # A resource may use a local that merges var.labels / var.tags.
    carriers = {f"local.{k}" for k, v in module_locals.items() if isinstance(v, str) and re.search(r"var\.(tags|labels)\b", v)}
    carriers |= {"var.tags", "var.labels"}

    def carries(expr) -> bool:
        return isinstance(expr, str) and any(c in expr for c in carriers)

    problems = []
    for f, rtype, rname, body in resources(directory):
        where = f"{rel(f)}: {rtype}.{rname}"
        if rtype in AWS_TAGGABLE or rtype in AZURE_TAGGABLE:
            if not carries(body.get("tags")):
                problems.append(f"{where} has no tags = var.tags")
            for pool in body.get("default_node_pool", []):
                if not carries(pool.get("tags")):
                    problems.append(f"{where} default_node_pool lacks tags = local.tags")
            for spec in body.get("tag_specifications", []):
                if not carries(spec.get("tags")):
                    problems.append(f"{where} tag_specifications[{spec.get('resource_type')}] lack var.tags")
        elif rtype in GCP_LABELABLE:
            if not carries(_get_path(body, GCP_LABELABLE[rtype])):
                problems.append(f"{where} has no {'.'.join(GCP_LABELABLE[rtype])} from var.labels")
    assert not problems, "\n".join(problems)


def _env_scope(directory: Path, env: str) -> dict:
    """var.* from defaults, terraform.tfvars.example and env/<env>.tfvars, and literal locals."""
    local_vals = {k: v for k, v in locals_of(directory).items() if isinstance(v, (str, int, bool)) and "${" not in str(v)}
    return {"var": env_values(directory, env), "local": local_vals}


@pytest.mark.parametrize("directory,env", TARGETS, ids=TARGET_IDS)
def test_environment_applies_required_tags_or_labels(directory, env):
    cloud = directory.name
    scope = _env_scope(directory, env)
    providers = {name: body for _, b in blocks(directory, "provider") for name, body in b.items() if not name.startswith("__")}
    module_args = next(iter(named(directory, "module").values()))
    if cloud == "aws":
        local_name, required, provider, attr = "tags", REQUIRED_AWS_TAGS, "aws", "default_tags"
        default_tags = providers["aws"].get("default_tags", [{}])[0].get("tags")
        assert default_tags == "${local.tags}", f"{rel(directory)}: provider aws needs default_tags {{ tags = local.tags }}"
        assert module_args.get("tags") == "${local.tags}", f"{rel(directory)}: the module call needs tags = local.tags"
        extra = "extra_tags"
    elif cloud == "azure":
        # No default tags in azurerm: the module call hands local.tags to every resource
        # (test_module_tags_or_labels_every_taggable_resource checks the module side).
        local_name, required = "tags", REQUIRED_AZURE_TAGS
        assert "default_tags" not in providers["azurerm"], "azurerm has no default_tags; tag through the module"
        assert module_args.get("tags") == "${local.tags}", f"{rel(directory)}: the module call needs tags = local.tags"
        extra = "extra_tags"
    else:
        local_name, required, provider, attr = "labels", REQUIRED_GCP_LABELS, "google", "default_labels"
        assert providers["google"].get("default_labels") == "${local.labels}", (
            f"{rel(directory)}: provider google needs default_labels = local.labels"
        )
        assert module_args.get("labels") == "${local.labels}", f"{rel(directory)}: the module call needs labels = local.labels"
        extra = "extra_labels"

    expr = locals_of(directory)[local_name]
    values = eval_expression(expr, scope)
    missing = [k for k in required if not values.get(k)]
    assert not missing, f"{rel(directory)}: local.{local_name} lacks required keys {missing}"
    assert values["environment" if cloud == "gcp" else "Environment"] == env

    # The required keys win over user-supplied extras.
    hostile = dict(scope, var=dict(scope["var"], **{extra: {k: "overridden" for k in required}}))
    values = eval_expression(expr, hostile)
    assert not [k for k in required if values[k] == "overridden"], f"{rel(directory)}: {extra} can override required keys"

    if cloud == "gcp":
        bad = [f"{k}={v}" for k, v in values.items() if not re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", k) or not re.fullmatch(r"[a-z0-9_-]{0,63}", str(v))]
        assert not bad, f"{rel(directory)}: labels not valid for GCP: {bad}"


# --------------------------------------------------------------------------------------
# No secrets, account IDs or project IDs in the code
# --------------------------------------------------------------------------------------

SCANNED = sorted(
    p
    for p in TERRAFORM_DIR.rglob("*")
    if p.is_file() and ".terraform" not in p.parts and (p.suffix in (".tf", ".hcl", ".example", ".tfvars", ".json"))
)
_SECRET_PATTERNS = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(r"(?i)aws_secret_access_key\s*=\s*\"?[A-Za-z0-9/+=]{40}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "GCP service account key": re.compile(r"\"type\"\s*:\s*\"service_account\""),
    "12-digit AWS account id": re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])"),
}
_SECRET_ATTR = re.compile(r"(?i)(password|passwd|secret|token|private_key|access_key|api_key|credentials)$")


def test_the_scan_covers_the_tree_and_local_files_stay_out_of_git():
    assert any(p.suffix == ".tf" for p in SCANNED) and any(p.name == "terraform.tfvars.example" for p in SCANNED)
    assert {p.name for p in SCANNED} >= {"dev.tfvars", "prod.tfvars", "dev.backend.hcl", "prod.backend.hcl"}
    ignored = (TERRAFORM_DIR / ".gitignore").read_text().splitlines()
    for pattern in ("terraform.tfvars", "backend.hcl", "*.tfstate", ".terraform/"):
        assert pattern in ignored, f"terraform/.gitignore should ignore {pattern}"


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: rel(p))
def test_no_secrets_or_account_ids(path):
    text = path.read_text(encoding="utf-8")
    hits = [f"{what} at line {text[: m.start()].count(chr(10)) + 1}" for what, rx in _SECRET_PATTERNS.items() for m in rx.finditer(text)]
    assert not hits, f"{rel(path)}: {', '.join(hits)}"


def _literal_attrs(value, path=()):
    """Yields (attribute path, literal string) for attributes whose value is a plain string."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k.startswith("__"):
                continue
            if isinstance(v, str) and _INTERP not in v:
                yield path + (k,), v
            else:
                yield from _literal_attrs(v, path + (k,))
    elif isinstance(value, list):
        for v in value:
            yield from _literal_attrs(v, path)


@pytest.mark.parametrize("path", tf_files(), ids=lambda p: rel(p))
def test_no_hard_coded_credentials_or_project_ids(path):
    parsed = parse_hcl(path)
    problems = []
    for attr_path, literal in _literal_attrs({k: v for k, v in parsed.items() if k != "variable"}):
        leaf = attr_path[-1]
        if _SECRET_ATTR.search(leaf) and literal:
            problems.append(f"{'.'.join(attr_path)} holds a literal secret-like value")
        if leaf in ("project", "project_id", "billing_project") and literal:
            problems.append(f"{'.'.join(attr_path)} = {literal!r} hard-codes a GCP project (use var.project_id)")
        if re.search(r"projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/", literal):
            problems.append(f"{'.'.join(attr_path)} = {literal!r} names a GCP project")
        if re.search(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d", literal):
            problems.append(f"{'.'.join(attr_path)} = {literal!r} hard-codes an ARN with an account")
    # Secret-like variables must be marked sensitive and have no default.
    for name, body in named(path.parent, "variable").items() if path.name == "variables.tf" else []:
        if _SECRET_ATTR.search(name):
            if body.get("sensitive") is not True or "default" in body:
                problems.append(f"variable {name!r} looks secret: mark it sensitive and give it no default")
    assert not problems, f"{rel(path)}: " + "; ".join(problems)


@pytest.mark.parametrize("directory", ROOTS, ids=ROOT_IDS)
def test_tfvars_example_uses_placeholders(directory):
    example = parse_hcl(directory / "terraform.tfvars.example")
    if "project_id" in example:
        assert example["project_id"].startswith("example-"), "use an obvious placeholder project id (example-...)"
    for key in example:
        if key.startswith("__"):
            continue
        assert not _SECRET_ATTR.search(key), f"{rel(directory)}: secret-like key {key!r} does not belong in an example"


def test_repo_root_is_where_we_think():
    assert (REPO_ROOT / "terraform").is_dir() and (REPO_ROOT / "tests" / "infra").is_dir()
