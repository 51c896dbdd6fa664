"""Evaluation report: TFMA metrics, per-slice table and confusion matrix as HTML."""
