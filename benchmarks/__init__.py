"""Speed targets live here, not in timed tests: `make bench` runs every benchmark and prints p50/p99."""
