"""Encoders: the torch modules and their tokenisation (with the word cache bench serves queries through),
how one is built from a spec or loaded, sentence-transformers / model2vec directories, L0 tables, saved pairs."""
