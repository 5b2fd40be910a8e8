"""The one-shot GPU grid (issue 12): packed here, run on a lent GPU machine that has no network.

`pack.py` writes what that machine lacks into one folder (model weights as fp16, the built collection and
the BM25 hard negatives from this machine's cache, pinned wheels); `unpack.py` turns the folder into a
cache there; `grid.py` says which recipes the grid trains; `run.py` trains them under a deadline and writes
the few files that come back.
"""
