"""Data gate: stop the pipeline before Transform on critical anomalies from TFDV or GE."""
