"""Benchmark scripts: each prints its numbers; none is a unit test."""
