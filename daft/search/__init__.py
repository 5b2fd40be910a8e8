"""Retrieval: BM25 through Lucene, compact ranked runs, dense ranking and ir-measures evaluation, and
the cached document embeddings."""
