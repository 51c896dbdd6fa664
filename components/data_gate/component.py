"""TFX adapter for the data gate: fails the run (stops before Transform) on critical findings."""

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components.common import gfile_io
from components.common import report_names as rn
from components.common.artifacts import DataGateResult, GreatExpectationsResult
from components.data_gate import logic


@component
def DataGate(
    anomalies: InputArtifact[standard_artifacts.ExampleAnomalies],
    ge_result: InputArtifact[GreatExpectationsResult],
    gate: OutputArtifact[DataGateResult],
    dataset: Parameter[str] = "data",
    report_dir: Parameter[str] = "",
) -> None:
    """Raises DataValidationError naming columns, checks and examples; else writes gate.json."""
    tfdv_failures = []
    for split, proto in logic.load_anomalies_dir(anomalies.uri).items():
        tfdv_failures.extend(logic.failures_from_anomalies(proto, split))
    failures = logic.decide(tfdv_failures, logic.load_ge_failures(ge_result.uri))
    paths = [gfile_io.join(gate.uri, rn.GATE_JSON)] + ([gfile_io.join(report_dir, rn.GATE_JSON)] if report_dir else [])
    logic.enforce(failures, dataset, paths)
