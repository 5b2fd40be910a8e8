"""Encoders: the torch modules and their tokenisation (and the word cache served by bench), how one is
built from a spec or loaded, sentence-transformers / model2vec directories, L0 tables, saved pairs."""
