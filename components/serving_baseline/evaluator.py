"""TFX's Evaluator, told when the serving baseline holds no model.

A ``ServingModelBaseline`` artifact always exists (every backend needs its output), but before
the first push it holds no model. TFX's Evaluator then must evaluate without a baseline: it
drops change thresholds only when the ``baseline_model`` input is empty (``rubber_stamp``), so
this executor empties it. Everything else is TFX's Evaluator unchanged (same id, spec, outputs).
"""

from typing import Any

from tfx.components.evaluator import component as tfx_component
from tfx.components.evaluator import executor as tfx_evaluator
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_component_specs

from components.serving_baseline.component import baseline_version


class Executor(tfx_evaluator.Executor):
    """Evaluator executor that ignores an empty serving baseline."""

    def Do(self, input_dict: dict[str, list[Any]], output_dict: dict[str, list[Any]], exec_properties: dict[str, Any]) -> None:
        key = standard_component_specs.BASELINE_MODEL_KEY
        baselines = input_dict.get(key) or []
        if baselines and all(baseline_version(b) == 0 for b in baselines):
            input_dict = {k: v for k, v in input_dict.items() if k != key}
        super().Do(input_dict, output_dict, exec_properties)


class Evaluator(tfx_component.Evaluator):
    """TFX's Evaluator component running :class:`Executor`."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
