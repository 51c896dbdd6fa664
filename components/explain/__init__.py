"""Explainability: SHAP (KernelExplainer) attributions of the exported raw-feature model."""
