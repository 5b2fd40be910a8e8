"""The fixed-index stage: its candidates (the corpus, sampled, BM25's) and its objective's teacher terms."""

from __future__ import annotations

import pytest
import torch

from daft.core import distributed
from daft.models.build import build
from daft.search import embeddings
from daft.training.data import batches, prepare_data
from daft.training.docs import Candidates, Context
from daft.training.index import IndexDocs
from daft.training.objectives import IndexObjective, teacher_vectors
from daft.training.recipe import load_recipe

RECIPE = """
[recipe]
method = "fixed_index"
seed = 1

[data]
collection = "{collection}"
kl_documents = 20
query_max_length = 8
doc_max_length = 16

[negatives]
k = 0

[query_encoder]
type = "static"
model = "{model}"

[doc_encoder]
model = "{model}"

[train]
batch_size = 4

[index]
{index}
"""


@pytest.fixture
def context(tmp_path, tiny_beir, tiny_model_dir, monkeypatch):
    """A Context over the tiny BEIR folder with [index] set to `index`."""
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path / "cache"))

    def make(index: str = "") -> Context:
        path = tmp_path / "r.toml"
        path.write_text(RECIPE.format(collection=tiny_beir, model=tiny_model_dir, index=index))
        recipe = load_recipe(path)
        doc = build(recipe.encoder_spec("doc"))
        return Context(doc, prepare_data(recipe), recipe, torch.device("cpu"), None, distributed.World())

    return make


def _batch(ctx: Context):
    return next(batches(ctx.data, 0, "index", 0, 4, 1))


def test_the_corpus_is_every_candidate_and_other_positives_are_excluded(context):
    ctx = context()
    qid = ctx.data.qids[0]
    target = ctx.data.positives[qid][0]
    other = next(d for d in sorted(ctx.data.collection.corpus) if d != target)
    ctx.data.positives[qid] = [target, other]  # a second relevant document
    docs = IndexDocs(ctx)
    batch = _batch(ctx)
    row = batch.qids.index(qid) if qid in batch.qids else None
    got = docs.candidates(batch)
    assert got.vectors.shape == (40, ctx.doc.dim) and got.exclude.shape == (4, 40)
    ids = sorted(ctx.data.collection.corpus)
    for i in range(len(batch.qids)):
        assert ids[int(got.targets[i])] == batch.doc_ids[int(batch.targets[i])]
        assert not got.exclude[i, got.targets[i]]
    if row is not None:
        assert got.exclude[row].nonzero().flatten().tolist() == [ids.index(other)]
    else:
        assert not got.exclude.any()
    assert docs.param_groups() == [] and docs.best_state() == {}
    assert not any(p.requires_grad for p in ctx.doc.parameters())


def test_the_index_vectors_are_the_cached_entry(context):
    ctx = context()
    docs = IndexDocs(ctx)
    assert docs.cache_status == "built"
    ids, vectors, _ = embeddings.doc_embeddings(ctx.doc, ctx.data.collection, max_length=16)
    assert torch.equal(docs.table, torch.tensor(vectors)) and IndexDocs(ctx).cache_status == "cached"
    assert docs.validation.shape == (len(ctx.data.vset.doc_ids), ctx.doc.dim)
    # The KL documents are looked up in the index too, never encoded again.
    assert (docs.kl == vectors[[ids.index(d) for d in ctx.data.vset.kl_ids]]).all()


def test_sampled_candidates_start_with_the_batch_and_never_count_a_positive_as_negative(context):
    ctx = context('negatives = "sampled"\nsampled_negatives = 200')  # 200 draws of 40: every doc recurs
    docs = IndexDocs(ctx)
    torch.manual_seed(0)
    batch = _batch(ctx)
    got = docs.candidates(batch)
    width = len(batch.doc_ids) + 200
    assert got.vectors.shape == (width, ctx.doc.dim) and torch.equal(got.targets, batch.targets)
    rows = {d: i for i, d in enumerate(sorted(ctx.data.collection.corpus))}
    for i, qid in enumerate(batch.qids):
        positive = docs.table[rows[ctx.data.positives[qid][0]]]
        copies = (got.vectors == positive).all(dim=1).nonzero().flatten().tolist()
        assert len(copies) > 1  # drawn again among the samples
        assert [c for c in copies if not got.exclude[i, c]] == [int(batch.targets[i])]


def test_bm25_candidates_are_the_batch_documents(context):
    ctx = context('negatives = "bm25"')
    docs = IndexDocs(ctx)
    batch = _batch(ctx)
    got = docs.candidates(batch)
    assert got.vectors.shape == (len(batch.doc_ids), ctx.doc.dim)
    assert torch.equal(got.exclude, batch.exclude)


def _candidates(ctx: Context) -> tuple[Candidates, object]:
    batch = _batch(ctx)
    return IndexDocs(ctx).candidates(batch), batch


def test_the_teacher_terms_vanish_when_the_student_is_the_teacher(context):
    ctx = context("listwise_weight = 1.0")
    candidates, batch = _candidates(ctx)
    objective = IndexObjective(ctx).eval()  # no dropout
    teacher = objective.teacher[[ctx.data.qids.index(q) for q in batch.qids]]
    plain = IndexObjective(context('teacher = "none"')).eval()
    same = objective(teacher, candidates, batch)
    assert torch.allclose(same, plain(teacher, candidates, batch), atol=1e-5)
    moved = objective(teacher.roll(1, dims=0), candidates, batch)
    assert moved > plain(teacher.roll(1, dims=0), candidates, batch) + 0.1


def test_the_doc_teacher_is_the_document_encoder_on_the_queries(context):
    ctx = context()
    got = teacher_vectors(ctx)
    texts = [ctx.data.queries[q] for q in ctx.data.qids]
    assert torch.allclose(got, torch.from_numpy(ctx.doc.encode(texts, max_length=8)), atol=1e-6)


def test_a_teacher_of_another_width_is_one_line(context, tiny_model_dir):
    ctx = context(f'teacher = "encoder"\n[teacher]\nmodel = "{tiny_model_dir}"\ndim = 3')
    from daft.core.errors import UserError

    with pytest.raises(UserError, match=r"\[teacher\]: the teacher gives 3-d vectors"):
        teacher_vectors(ctx)
