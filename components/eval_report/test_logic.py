"""Evaluation report logic: TFMA validation results become sentences; the page renders them."""

from tensorflow_model_analysis.proto import config_pb2, validation_result_pb2

from components.eval_report import logic


def _failed(metric: str, value: float, lower: float, column: str | None = None, is_diff: bool = False):
    result = validation_result_pb2.ValidationResult(validation_ok=False)
    per_slice = result.metric_validations_per_slice.add()
    if column:
        key = per_slice.slice_key.single_slice_keys.add()
        key.column, key.bytes_value = column, b"Biscoe"
    failure = per_slice.failures.add()
    failure.metric_key.name = metric
    failure.metric_key.is_diff = is_diff
    failure.metric_value.double_value.value = value
    if is_diff:
        failure.metric_threshold.change_threshold.absolute.value = lower
    else:
        failure.metric_threshold.value_threshold.lower_bound.value = lower
    return result


def test_passed_validation_has_no_failures():
    assert logic.validation_failures(validation_result_pb2.ValidationResult(validation_ok=True)) == []


def test_failed_threshold_names_metric_value_slice_and_bound():
    result = _failed("sparse_categorical_accuracy", 0.8123, 0.9, column="island")
    assert logic.validation_failures(result) == [
        "sparse_categorical_accuracy = 0.8123 on island=Biscoe failed its threshold (lower bound 0.9)"
    ]


def test_overall_failures_come_before_slice_failures():
    result = _failed("accuracy", 0.5, 0.9, column="island")
    overall = _failed("accuracy", 0.7, 0.9)
    result.metric_validations_per_slice.extend(overall.metric_validations_per_slice)
    failures = logic.validation_failures(result)
    assert [" on Overall " in f for f in failures] == [True, False]


def test_change_threshold_failure_says_it_is_a_change():
    (sentence,) = logic.validation_failures(_failed("accuracy", -0.05, -0.02, is_diff=True))
    assert sentence.startswith("accuracy change vs baseline = -0.0500 on Overall")
    assert "allowed change -0.02" in sentence


def test_no_thresholds_and_missing_slices_are_explained_not_crashed_on():
    # TFMA writes this when the EvalConfig has no thresholds: missing_thresholds is a bool.
    result = validation_result_pb2.ValidationResult(validation_ok=False, missing_thresholds=True)
    result.missing_slices.append(config_pb2.SlicingSpec(feature_values={"island": "Atlantis"}))
    failures = logic.validation_failures(result)
    assert len(failures) == 2
    assert "no evaluation thresholds are configured" in failures[0]
    assert failures[1] == "slice island=Atlantis had no examples to validate"


def test_slice_spec_names():
    assert logic.slice_spec_name(config_pb2.SlicingSpec()) == "Overall"
    assert logic.slice_spec_name(config_pb2.SlicingSpec(feature_keys=["island"])) == "island"


def test_html_shows_verdict_failures_and_escapes_text():
    summary = logic.EvalSummary(
        blessed=False,
        overall={"sparse_categorical_accuracy": 0.8},
        slices={"island=<Biscoe>": {"sparse_categorical_accuracy": 0.7}},
        failures=["accuracy = 0.8 on Overall failed its threshold (lower bound 0.9)"],
        confusion=[(0, 0, 10.0), (0, 1, 2.0), (1, 1, 8.0)],
    )
    page = logic.render_html(summary, "penguins", ["Adelie", "Gentoo"])
    assert "lower bound 0.9" in page
    assert "&lt;Biscoe&gt;" in page and "<Biscoe>" not in page
    assert "NOT BLESSED" in page.upper()
    assert "data:image/png;base64," in page
