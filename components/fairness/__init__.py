"""Fairness gate: per-group metrics over the sensitive columns; large gaps unbless the model."""
