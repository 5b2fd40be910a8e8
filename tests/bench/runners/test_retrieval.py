"""`python -m bench run` on a retrieval suite end to end: a tiny BEIR folder, tiny encoders, the real JVM."""

from __future__ import annotations

import json
from pathlib import Path

import ir_measures
import numpy as np
import pytest

from bench.__main__ import main

SUITE = """
[suite]
name = "tinyq"

[[encoders]]
name = "mean"
model = "{model}"

[[encoders]]
name = "cls"
model = "{model}"
pooling = "cls"

[[encoders]]
name = "pair"
pair = "{pair}"
{latency}
[retrieval]
collection = "{beir}"
depth = 20
measures = ["nDCG@10", "RR@10", "R@20"]
alpha_grid = [0.0, 0.5, 1.0]
"""

LATENCY = """
[queries]
file = "queries.txt"
limit = 4
max_length = 8

[latency]
batch_sizes = [1]
threads = [1]

[measure]
min_time_s = 0.01
min_samples = 3
max_time_s = 0.2
warmup_max_s = 0.05
"""


def _json(path: Path) -> dict:
    # The written layout itself is what these tests check (schema round trips: tests/bench/report).
    return json.loads(path.read_text())


@pytest.fixture
def write_suite(tmp_path: Path, tiny_model_dir: Path, tiny_beir: Path, monkeypatch):
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "queries.txt").write_text("potter wheel\nbank river\nquick fox\nplay guitar\n")

    # A saved pair (an L0 query side, the tiny transformer as document side), as `daft train` writes one.
    from daft.models.build import build
    from daft.models.pair import EncoderPair

    pair = tmp_path / "pair"
    query = build({"type": "static", "model": str(tiny_model_dir)})
    EncoderPair(query, build({"model": str(tiny_model_dir)}), {"method": "test"}).save(pair)

    def write(latency: bool = False, beir: Path = tiny_beir, extra: str = "") -> Path:
        path = tmp_path / "tinyq.toml"
        text = SUITE.format(model=tiny_model_dir, beir=beir, pair=pair, latency=LATENCY if latency else "")
        text += extra
        path.write_text(text)
        return path

    return write


def test_retrieval_suite_end_to_end(write_suite, tmp_path: Path, capsys):
    results = tmp_path / "results"
    assert main(["run", str(write_suite()), "--results", str(results)]) == 0
    report = _json(results / "tinyq-latest.json")
    r = report["retrieval"]
    assert report["status"] == "complete" and report["cells"] == []
    assert [s["id"] for s in r["systems"]] == [
        "bm25",
        "mean/dense",
        "mean/hybrid",
        "mean/rrf",
        "cls/dense",
        "cls/hybrid",
        "cls/rrf",
        "pair/dense",
        "pair/hybrid",
        "pair/rrf",
    ]
    assert r["split"] == "test" and r["tune_split"] == "dev" and r["queries"] == 8 and r["tune_folds"] == 0
    for system in r["systems"]:
        assert set(system["aggregate"]) == {"nDCG@10", "RR@10", "R@20"}
        assert all(0.0 <= v <= 1.0 for v in system["aggregate"].values())
    hybrid = next(s for s in r["systems"] if s["id"] == "mean/hybrid")
    # Where alpha was tuned is the run's, resolved once: not repeated in each hybrid's parameters.
    assert hybrid["params"]["alpha"] in (0.0, 0.5, 1.0) and "tuned_on" not in hybrid["params"]
    assert len(hybrid["params"]["curve"]) == 3
    # Queries repeat two words of their document: BM25 finds most of them.
    bm25 = r["systems"][0]["aggregate"]
    assert bm25["R@20"] >= 0.75
    pairs = {(c["system_a"], c["system_b"]) for c in r["comparisons"]}
    assert ("mean/dense", "bm25") in pairs and ("cls/dense", "mean/dense") in pairs
    assert ("mean/dense", "mean/dense") not in pairs
    assert all(0.0 <= c["p_adjusted"] <= 1.0 for c in r["comparisons"])
    assert r["beir"]["bm25"]["ndcg_at_10"] == bm25["nDCG@10"] and "recall_at_20" in r["beir"]["bm25"]
    # Artifacts: TREC runs with ranks from 1 and per-query values for every system x measure x query.
    folder = results / report["artifacts"]["dir"]
    run: dict[str, list[float]] = {}
    for hit in ir_measures.read_trec_run(str(folder / "runs" / "mean__dense.trec")):
        run.setdefault(hit.query_id, []).append(hit.score)
    assert set(run) <= {f"q{i}" for i in range(32, 40)} and all(len(h) <= 20 for h in run.values())
    assert all(len(set(scores)) > 1 for scores in run.values())  # real scores, not ties
    lines = (folder / "per_query.jsonl").read_text().splitlines()
    assert len(lines) == 10 * 3 * 8
    assert json.loads(lines[0]).keys() == {"system", "measure", "qid", "value"}
    # No latency cells in this suite, nor a latency report: no frontier, no empty table, no plot.
    assert report["frontier"] is None and "frontier.png" not in report["artifacts"]["files"]
    out = capsys.readouterr().out
    assert "the frontier" not in out
    assert "retrieval on tiny-beir" in out.replace("\n", " ") or "retrieval on" in out
    # The document embeddings are cached by encoder: a rerun reuses them, per encoder.
    assert main(["run", str(write_suite()), "--results", str(results)]) == 0
    again = _json(results / "tinyq-latest.json")["retrieval"]["systems"]
    assert {s["pair"]["documents"] for s in again if s["encoder"]} == {"cached"}
    assert [s["aggregate"] for s in again] == [s["aggregate"] for s in r["systems"]]


@pytest.fixture
def test_only_beir(tiny_beir: Path, tmp_path: Path) -> Path:
    """The tiny BEIR folder as most BEIR sets ship: qrels/test.tsv only."""
    folder = tmp_path / "test-only"
    (folder / "qrels").mkdir(parents=True)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        (folder / name).write_bytes((tiny_beir / name).read_bytes())
    return folder


def test_a_test_only_collection_cross_validates_alpha(write_suite, test_only_beir: Path, tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["run", str(write_suite(beir=test_only_beir)), "--results", str(results)]) == 0
    report = _json(results / "tinyq-latest.json")
    r = report["retrieval"]
    assert (r["split"], r["tune_split"], r["tune_folds"]) == ("test", "test", 5)
    hybrid = next(s for s in r["systems"] if s["id"] == "mean/hybrid")
    params = hybrid["params"]
    assert "cv_folds" not in params and sum(f["queries"] for f in params["folds"]) == 8
    assert params["alpha"] == [f["alpha"] for f in params["folds"] if f["queries"]]
    assert all(f["alpha"] in (0.0, 0.5, 1.0) for f in params["folds"] if f["queries"])
    # The aggregate is the mean over the assembled run's per-query values (every test query once).
    lines = [json.loads(x) for x in (results / report["artifacts"]["dir"] / "per_query.jsonl").open()]
    values = [x["value"] for x in lines if x["system"] == "mean/hybrid" and x["measure"] == "nDCG@10"]
    assert len(values) == 8 and hybrid["aggregate"]["nDCG@10"] == pytest.approx(sum(values) / 8)
    assert "hybrid alpha by 5-fold CV on test" in capsys.readouterr().out.replace("\n", " ")


def test_a_missing_tuning_split_is_an_error_naming_the_fixes(
    write_suite, test_only_beir: Path, tmp_path, capsys
):
    suite = write_suite(beir=test_only_beir, extra='tune_split = "dev"\n')
    assert main(["run", str(suite), "--results", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert "tune_split: the collection has no split 'dev' (has: test)" in err
    assert 'set tune_split = "auto"' in err and '"cv"' in err


def test_an_index_built_off_fp32_is_checked_against_fp32(write_suite, tmp_path, capsys):
    suite = write_suite(extra='doc_precision = "bf16"\nsystems = ["dense"]\n')
    results = tmp_path / "results"
    assert main(["run", str(suite), "--results", str(results)]) == 0
    systems = _json(results / "tinyq-latest.json")["retrieval"]["systems"]
    mean = next(s for s in systems if s["id"] == "mean/dense")
    check = mean["pair"]["precision_check"]
    assert mean["pair"]["doc_precision"] == "bf16" and check["measure"] == "nDCG@10"
    assert check["precision"] == "bf16" and check["value"] == mean["aggregate"]["nDCG@10"]
    assert check["delta"] == pytest.approx(check["value"] - check["fp32"]) and 0.0 < check["fp32"] <= 1.0
    out = capsys.readouterr().out.replace("\n", " ")
    assert "precision: mean documents in bf16: dense nDCG@10" in out and "vs fp32" in out


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_prints_and_records_what_it_resolved_to_and_is_not_checked(
    write_suite, tmp_path, monkeypatch, capsys, native
):
    from bench.documents import precision

    monkeypatch.setattr(precision, "native_bf16", lambda device_type="cpu": native)
    suite = write_suite(extra='doc_precision = "auto"\nsystems = ["dense"]\n')
    results = tmp_path / "results"
    assert main(["run", str(suite), "--results", str(results)]) == 0
    mean = next(
        s for s in _json(results / "tinyq-latest.json")["retrieval"]["systems"] if s["id"] == "mean/dense"
    )
    resolved = "bf16" if native else "fp32"  # fp32 too is written: it was once left out as the default
    pair = mean["pair"]
    report = _json(results / "tinyq-latest.json")
    assert pair["doc_precision"] == resolved and report["suite"]["retrieval"]["doc_precision"] == "auto"
    assert pair["precision_check"] is None
    why = "native bf16 on the encoding machine" if native else "no native bf16 on the encoding machine"
    said = f"documents in {resolved} (doc_precision auto: {why}"
    out, err = capsys.readouterr()
    assert f"mean: {said}" in err  # live, before the corpus is encoded
    assert f"precision: mean {said}" in out.replace("\n", " ")  # in the report's lines
    assert main(["report", str(results / "tinyq-latest.json")]) == 0
    assert f"precision: mean {said}" in capsys.readouterr().out.replace("\n", " ")


def test_latency_and_retrieval_make_a_frontier(write_suite, tmp_path: Path):
    results = tmp_path / "results"
    assert main(["run", str(write_suite(latency=True)), "--results", str(results)]) == 0
    report = _json(results / "tinyq-latest.json")
    assert {c["cell"]["encoder"] for c in report["cells"]} == {"mean", "cls", "pair"}
    assert report["encoders"]["pair"]["spec"]["pair"].endswith("pair")  # paths are written as strings
    entries = {e["encoder"]: e for e in report["frontier"]}
    assert set(entries) == {"mean", "cls", "pair"}
    for entry in entries.values():
        (at,) = entry["latency"]  # the suite's batch sizes: only 1
        assert at["batch_size"] == 1 and at["fastest"]["p50_ns"] > 0
        assert entry["parameters"] > 0 and entry["quality"]["dense"] is not None
    assert any(e["pareto"]["dense"] for e in entries.values())
    folder = results / report["artifacts"]["dir"]
    for plot in ("frontier.png", "latency_vs_batch.png"):
        assert (folder / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_query_without_tokens_is_named_by_its_id_and_collection(write_suite, tmp_path, tiny_beir, capsys):
    import shutil

    beir = tmp_path / "zw-beir"
    shutil.copytree(tiny_beir, beir)
    lines = (beir / "queries.jsonl").read_text().splitlines()
    row = json.loads(lines[35])  # a test query
    lines[35] = json.dumps({**row, "text": "\u200b\u200b"})
    (beir / "queries.jsonl").write_text("\n".join(lines) + "\n")
    suite = write_suite(beir=beir, extra='systems = ["dense"]\nencoders = ["pair"]\n')  # the L0 query side
    assert main(["run", str(suite), "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(
        f"error: collection {beir}: query {row['_id']!r}: text '\\u200b\\u200b' yields no tokens"
    )


def test_a_query_line_without_tokens_is_named_by_its_file_and_line(write_suite, tmp_path, capsys):
    suite = write_suite(latency=True)
    (tmp_path / "queries.txt").write_text("potter wheel\nbank river\n\u200b\u200b\nplay guitar\n")
    text = suite.read_text().replace("[retrieval]", "[ignored]").split("[ignored]")[0]
    suite.write_text(text.replace('name = "mean"\nmodel', 'name = "mean"\ntype = "static"\nmodel', 1))
    assert main(["run", str(suite), "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        "[queries] " + str(tmp_path / "queries.txt") + " line 3: text '\\u200b\\u200b' yields no tokens"
        in err[-1]
    )


def test_a_pair_with_nan_weights_is_named_not_blamed_on_the_assets(write_suite, tmp_path, capsys):
    from safetensors.numpy import load_file, save_file

    suite = write_suite(latency=True)
    for weights in (tmp_path / "pair" / "query").glob("*.safetensors"):
        save_file({k: np.full_like(v, np.nan) for k, v in load_file(weights).items()}, weights)
    assert main(["run", str(suite), "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"encoder 'pair' (pair {tmp_path / 'pair'}): 4 of 4 embeddings contain NaN" in err


def test_a_query_known_only_by_its_batch_position_names_its_source(tmp_path):
    from bench.queries import origin

    (tmp_path / "q.txt").write_text("a\n\u200b\n")
    assert origin(None, tmp_path / "q.txt", "\u200b") == f"{tmp_path / 'q.txt'} line 2"
    assert origin(None, tmp_path / "q.txt", None) == str(tmp_path / "q.txt")
    assert origin("wordnet:test", None, None) == "wordnet:test"


@pytest.fixture
def combsum(monkeypatch):
    """The test-only CombSUM system registered: its module and one line in the registry."""
    from bench.retrieval import systems

    monkeypatch.setattr(systems, "_MODULES", (*systems._MODULES, "tests.bench.retrieval.combsum"))
    systems.registry.cache_clear()
    yield
    monkeypatch.undo()
    systems.registry.cache_clear()


def test_a_fusion_is_one_module_and_one_registry_line(combsum, write_suite, tmp_path: Path, capsys):
    extra = 'systems = ["bm25", "combsum"]\ncombsum_normalization = "z-score"\n'
    results = tmp_path / "results"
    assert main(["run", str(write_suite(extra=extra)), "--results", str(results)]) == 0
    report = _json(results / "tinyq-latest.json")
    r = report["retrieval"]
    # What it fuses is made without being listed, and not reported; nothing is tuned.
    assert [s["id"] for s in r["systems"]] == ["bm25", "mean/combsum", "cls/combsum", "pair/combsum"]
    assert r["tune_split"] is None and report["suite"]["retrieval"]["combsum_normalization"] == "z-score"
    combsum = r["systems"][1]
    assert combsum["params"] == {"normalization": "z-score"} and combsum["pair"]["index"] == "flat"
    assert 0.0 < combsum["aggregate"]["nDCG@10"] <= 1.0 and "fuse_s" in combsum["pair"]["timings"]
    assert ("mean/combsum", "bm25") in {(c["system_a"], c["system_b"]) for c in r["comparisons"]}
    assert (results / report["artifacts"]["dir"] / "runs" / "mean__combsum.trec").is_file()
    capsys.readouterr()
    assert main(["report", str(results / "tinyq-latest.json")]) == 0
    assert "normalization=z-score" in capsys.readouterr().out


def test_a_report_naming_an_unregistered_system_reads_its_parameters_as_stored(
    combsum, write_suite, tmp_path, monkeypatch
):
    from bench import schema
    from bench.results import StoredParams
    from bench.retrieval import systems

    results = tmp_path / "results"
    suite = write_suite(extra='systems = ["combsum"]\nencoders = ["mean"]\n')
    assert main(["run", str(suite), "--results", str(results)]) == 0
    monkeypatch.setattr(systems, "_MODULES", systems._MODULES[:-1])  # a build without it
    systems.registry.cache_clear()
    (combsum,) = schema.load(results / "tinyq-latest.json").retrieval.systems
    assert combsum.params == StoredParams({"normalization": "min-max"})


def test_the_primary_measure_tunes_checks_and_compares(write_suite, tmp_path, capsys):
    extra = 'primary_measure = "RR@10"\nsystems = ["dense", "hybrid"]\ndoc_precision = "bf16"\n'
    results = tmp_path / "results"
    assert main(["run", str(write_suite(extra=extra)), "--results", str(results)]) == 0
    r = _json(results / "tinyq-latest.json")["retrieval"]
    assert r["primary_measure"] == "RR@10" and r["measures"][0] == "nDCG@10"
    hybrid = next(s for s in r["systems"] if s["id"] == "mean/hybrid")
    assert all(set(point) == {"alpha", "RR@10"} for point in hybrid["params"]["curve"])
    check = hybrid["pair"]["precision_check"]
    assert (
        check["measure"] == "RR@10"
        and check["value"] == next(s for s in r["systems"] if s["id"] == "mean/dense")["aggregate"]["RR@10"]
    )
    out = capsys.readouterr().out.replace("\n", " ")
    assert "paired comparisons on RR@10" in out and "dense RR@10" in out


def test_comparisons_add_encoder_pairs_to_the_paired_tests(write_suite, tmp_path: Path) -> None:
    extra = 'systems = ["bm25", "dense"]\ncomparisons = [["pair", "cls"]]\n'
    results = tmp_path / "results"
    assert main(["run", str(write_suite(extra=extra)), "--results", str(results)]) == 0
    report = _json(results / "tinyq-latest.json")
    comparisons = report["retrieval"]["comparisons"]
    pairs = [(c["system_a"], c["system_b"]) for c in comparisons if c["measure"] == "nDCG@10"]
    # BM25 and the baseline (the first encoder) as always, then the listed pair, every p Holm-corrected.
    assert sorted(pairs) == sorted(
        [
            ("mean/dense", "bm25"),
            ("cls/dense", "bm25"),
            ("pair/dense", "bm25"),
            ("cls/dense", "mean/dense"),
            ("pair/dense", "mean/dense"),
            ("pair/dense", "cls/dense"),
        ]
    )
    assert report["suite"]["retrieval"]["comparisons"] == [["pair", "cls"]]
