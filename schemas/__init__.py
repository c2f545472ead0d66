"""Pandera data contracts (installed as ``pipeline.schemas``): kernel input, output, table."""
