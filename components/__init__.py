"""Reusable TFX components: pure logic modules plus thin TFX adapters."""
