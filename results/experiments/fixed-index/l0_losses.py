"""Which test queries the reference-index L0 loses against the fine-tuned reference (docs/EXPERIMENT.md).

Run: python results/experiments/fixed-index/l0_losses.py results/fixed_index-<stamp>
(the folder a run of suites/fixed_index.toml writes beside its report: per_query.jsonl and runs/).
"""

import random
import statistics
import sys
from pathlib import Path

from bench.schema import read_per_query
from daft import collections

run_dir = Path(sys.argv[1])
per_query = read_per_query(run_dir / "per_query.jsonl")
ref, l0 = per_query["ft-minilm-l6/dense"]["RR@10"], per_query["fi-l0-ft-index/dense"]["RR@10"]
collection = collections.load("wordnet-small")
queries, qrels = collection.split("test")
first = {}
for line in (run_dir / "runs" / "fi-l0-ft-index__dense.trec").read_text().splitlines():
    qid, _, doc, rank, *_ = line.split()
    if rank == "1":
        first[qid] = doc
lost = sorted(q for q in ref if ref[q] == 1.0 and l0[q] == 0.0)
won = sorted(q for q in ref if l0[q] == 1.0 and ref[q] == 0.0)
both = sum(1 for q in ref if ref[q] == 1.0 and l0[q] == 1.0)
print(
    f"{len(ref)} test queries: both rank the relevant synset first {both}; the reference first and the L0 "
    f"outside its top 10 {len(lost)}; the reverse {len(won)}"
)


def words(qid: str) -> int:
    return len(queries[qid].split())


print(
    "median words: lost",
    statistics.median(map(words, lost)),
    "won",
    statistics.median(map(words, won)),
    "all",
    statistics.median(map(words, ref)),
)
random.seed(0)
for qid in random.sample(lost, 8):
    relevant = collection.corpus[next(iter(qrels[qid]))].full_text[:90]
    print(
        f"- {queries[qid]!r} -> relevant {relevant!r}; L0's first: {collection.corpus[first[qid]].full_text[:90]!r}"
    )
