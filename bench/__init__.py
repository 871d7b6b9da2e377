"""Benchmarks and the seeded data generator (not part of the test suite; see docs/BENCHMARKS.md)."""
