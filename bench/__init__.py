"""Benchmark scripts (run by hand, never in CI): `python -m bench.<name> [--quick] [--device cpu|cuda]`."""
