"""`make bench`: every performance target of issue 4, measured in one run beside its baseline.

`python -m bench` builds (or reuses) a separate benchmark database with seed_demo's fast path,
adds the few fixtures the measures need, then measures the services, the pages, the
throughput under gunicorn and the memory of the bulk writes, and prints one table (also
written as JSON to bench/results/latest.json). Importing this package does nothing.
"""
