"""Make a TFX-compiled PipelineSpec readable by ``kfp.local``.

TFX 1.21's KubeflowV2DagRunner writes task parameters as the deprecated
``runtimeValue.constantValue`` ({stringValue|intValue|doubleValue}); KFP backends accept it, but
``kfp.local`` 2.17 only reads ``runtimeValue.constant`` and stops with "Expected constant." before
running anything. This rewrite changes only that encoding; every value stays the same.
"""

from __future__ import annotations

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
    spec = modernize(spec)
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
