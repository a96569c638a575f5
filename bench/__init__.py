"""xgrad's benchmark harness: a pytest-benchmark suite (``pytest bench -m cpu``) and its report
(``python -m bench.report RESULTS.json --out DIR``). Not collected by the default test run."""
