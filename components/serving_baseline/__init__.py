"""The model now serving, resolved from the push destination: the Evaluator's baseline."""
