"""Retrieval: systems, fusion, significance."""
