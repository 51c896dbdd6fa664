"""TFX adapter for the data gate: fails the run (stops before Transform) on critical findings."""

import json
import os

from tfx import v1 as tfx

from components.common.artifacts import DataGateResult, GreatExpectationsResult
from components.common.errors import CheckFailure
from components.data_gate import logic


@tfx.dsl.components.component
def DataGate(
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    ge_result: tfx.dsl.components.InputArtifact[GreatExpectationsResult],
    gate: tfx.dsl.components.OutputArtifact[DataGateResult],
    dataset: tfx.dsl.components.Parameter[str] = "data",
    report_dir: tfx.dsl.components.Parameter[str] = "",
) -> None:
    """Raises DataValidationError naming columns, checks and examples; else writes gate.json."""
    tfdv_failures = []
    for split, proto in logic.load_anomalies_dir(anomalies.uri).items():
        tfdv_failures.extend(logic.failures_from_anomalies(proto, split))
    with open(os.path.join(ge_result.uri, "result.json")) as fh:
        ge = json.load(fh)
    ge_failures = [CheckFailure(**f) for rep in ge["splits"].values() for f in rep["failures"]]
    failures = logic.decide(tfdv_failures, ge_failures)
    paths = [os.path.join(gate.uri, "gate.json")] + ([os.path.join(report_dir, "gate.json")] if report_dir else [])
    logic.enforce(failures, dataset, paths)
