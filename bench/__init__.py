"""The performance harness: `python -m bench.run [--small]` (or `make bench`).

Measures ingest (Newsdesk against a naive llama-index baseline, whole processes), the model
alone per embedding backend, re-ingest, query latency, start-up, peak memory, and query latency
as the index grows (synthetic chunks, real query path), and writes one JSON file.
"""
