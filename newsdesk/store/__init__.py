"""Store: the index on disk (ledger, vectors, BM25) and the protocol that keeps them in step."""
