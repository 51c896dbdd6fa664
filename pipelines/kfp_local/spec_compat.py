"""Make a TFX-compiled PipelineSpec readable by ``kfp.local``.

TFX 1.21's KubeflowV2DagRunner writes task parameters as the deprecated
``runtimeValue.constantValue`` ({stringValue|intValue|doubleValue}); KFP backends accept it, but
``kfp.local`` 2.17 only reads ``runtimeValue.constant`` and stops with "Expected constant." before
running anything. This rewrite changes only that encoding; every value stays the same.
"""

from __future__ import annotations

import copy
from typing import Any


def _convert(value: dict[str, Any]) -> Any:
    (kind, v), = value.items()
    if kind == "intValue":
        return int(v)
    if kind == "doubleValue":
        return float(v)
    return v


def modernize(node: Any) -> Any:
    """Returns a copy of the spec with every ``constantValue`` replaced by ``constant``."""
    if isinstance(node, dict):
        out = {}
        for key, val in node.items():
            if key == "runtimeValue" and isinstance(val, dict) and "constantValue" in val:
                out[key] = {"constant": _convert(val["constantValue"])}
            else:
                out[key] = modernize(val)
        return out
    if isinstance(node, list):
        return [modernize(v) for v in node]
    return node


def without_resolvers(spec: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Drops Resolver tasks (``kfp.local`` cannot execute ResolverSpec nodes) and the inputs fed by them.

    Returns:
        The pruned spec and the names of the removed tasks.
    """
    spec = copy.deepcopy(spec)
    tasks = spec["root"]["dag"]["tasks"]
    removed = [name for name, t in tasks.items() if "resolver" in t.get("componentRef", {}).get("name", name).lower()
               or "resolver" in name.lower()]
    for name in removed:
        tasks.pop(name)
    for task in tasks.values():
        arts = task.get("inputs", {}).get("artifacts", {})
        for key in [k for k, v in arts.items() if v.get("taskOutputArtifact", {}).get("producerTask") in removed]:
            arts.pop(key)
        if "dependentTasks" in task:
            task["dependentTasks"] = [d for d in task["dependentTasks"] if d not in removed]
    return spec, removed


def with_inputs_spec_args(spec: dict[str, Any]) -> dict[str, Any]:
    """Passes each component's input definitions to TFX's container entrypoint.

    ``kfp.local`` hands parameters to a task as ``inputs.parameterValues``; TFX's
    ``kubeflow_v2_run_executor`` reads those only when given ``--json_serialized_inputs_spec_args``
    (otherwise it reads the deprecated ``inputs.parameters``, which kfp.local leaves empty).
    """
    import json

    executors = spec.get("deploymentSpec", {}).get("executors", {})
    for comp in spec.get("components", {}).values():
        label = comp.get("executorLabel")
        container = executors.get(label, {}).get("container")
        if not container or "--json_serialized_inputs_spec_args" in container.get("args", []):
            continue
        container["args"] = [
            *container.get("args", []),
            "--json_serialized_inputs_spec_args",
            json.dumps(comp.get("inputDefinitions", {})),
        ]
    return spec


def for_kfp_local(spec: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """All three rewrites: parameter encoding, resolver pruning, entrypoint input specs."""
    pruned, removed = without_resolvers(modernize(spec))
    return with_inputs_spec_args(pruned), removed
