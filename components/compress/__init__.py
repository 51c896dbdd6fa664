"""Model compression: TFLite variants (dynamic range, float16, full integer, pruned, distilled)."""
