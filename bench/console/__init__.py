"""Bench-only code for ``bench/console_bench.py``: never installed in the product."""
