"""Benchmarks: figures go to benchmarks/RESULTS.md with the command that produced them."""
