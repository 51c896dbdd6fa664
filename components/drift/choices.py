"""The option values of drift checks, importable without pandas or numpy (``mlops --help``
builds its parser from them)."""

NUMERIC_METRICS = ("psi", "ks")
CATEGORICAL_METRICS = ("psi", "js")
FORMATS = ("csv", "parquet", "jsonl")
