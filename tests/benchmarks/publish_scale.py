"""How long `bench publish` takes on many reports, and how big its pages get (not a test: it prints figures).

    python -m tests.benchmarks.publish_scale [N]      # N synthetic reports of one suite (default 500)

The reports are `tests/bench/publish/sample.py`'s: 8 latency cells with 40 samples each, retrieval with two
hybrid systems and a frontier, two machines in turn, a 40% step every hundred runs (so the gate's marks are
computed); written to a temporary folder, which is removed afterwards. Only the publish is timed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench import schema
from bench.publish import publish
from tests.bench.publish.sample import machine, report

TARGET_S, TARGET_BYTES = 30.0, 5_000_000


def write(root: Path, n: int) -> None:
    """`n` runs of the demo suite, the first also stored as the baseline."""
    for i in range(n):
        run = report(i, env=machine(("cpu-a", "cpu-b")[i % 2]), factor=1.4 ** ((i // 100) % 2))
        schema.write(run, root)
        if i == 0:
            schema.store(run, root / "baselines")


def main(n: int = 500) -> int:
    with tempfile.TemporaryDirectory(prefix="publish-scale-") as tmp:
        results, site = Path(tmp) / "results", Path(tmp) / "site"
        started = time.perf_counter()
        write(results, n)
        print(f"wrote {n} reports in {time.perf_counter() - started:.1f} s (not counted)")
        started = time.perf_counter()
        published = publish([results], site)
        elapsed = time.perf_counter() - started
        largest = max(published.pages, key=published.pages.__getitem__)
        size = published.pages[largest]
        total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
        print(
            f"published {len(published.inputs.copied)} reports in {elapsed:.1f} s (target < {TARGET_S:g} s)"
        )
        print(f"largest page: {largest}, {size / 1e6:.2f} MB (target < {TARGET_BYTES / 1e6:g} MB)")
        print(f"whole site: {total / 1e6:.1f} MB in {sum(1 for _ in site.rglob('*'))} files")
        return 0 if elapsed < TARGET_S and size < TARGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:])))
