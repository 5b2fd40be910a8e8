import math

import pytest
import torch
import torch.nn.functional as F

from daft.core.errors import UserError
from daft.training.loss import NORMALIZATIONS, ContrastiveLoss, contrastive_loss

# 2 queries x 3 documents with easy cosines: the docs are the unit axes, the queries are not unit-norm.
#   q0 = (2, 0, 0): cos = (1, 0, 0)     -> with scale 2: s0 = (2, 0, 0)
#   q1 = (0, 3, 4): cos = (0, .6, .8)   -> with scale 2: s1 = (0, 1.2, 1.6)
QUERIES = torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 4.0]], dtype=torch.float64)
DOCS = torch.eye(3, dtype=torch.float64)
TARGETS = torch.tensor([0, 1])


def random_batch(b: int = 4, n: int = 7, d: int = 5, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    queries = torch.randn(b, d, generator=generator, dtype=torch.float64)
    docs = torch.randn(n, d, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, n, (b,), generator=generator)
    return queries, docs, targets


def test_row_normalization_by_hand():
    row0 = math.log(math.exp(2) + math.exp(0) + math.exp(0)) - 2
    row1 = math.log(math.exp(0) + math.exp(1.2) + math.exp(1.6)) - 1.2
    expected = (row0 + row1) / 2
    loss = contrastive_loss(QUERIES, DOCS, TARGETS, scale=2.0, normalization="row")
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_matrix_normalization_by_hand():
    # One denominator for all 6 scores; each query contributes log Z - s_i,t_i.
    z = math.exp(2) + 1 + 1 + 1 + math.exp(1.2) + math.exp(1.6)
    expected = ((math.log(z) - 2) + (math.log(z) - 1.2)) / 2
    loss = contrastive_loss(QUERIES, DOCS, TARGETS, scale=2.0, normalization="matrix")
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_exclusion_removes_the_document_from_the_denominators():
    exclude = torch.tensor([[False, False, False], [False, False, True]])  # doc 2 is also relevant to q1
    row0 = math.log(math.exp(2) + 1 + 1) - 2
    row1 = math.log(1 + math.exp(1.2)) - 1.2
    row = contrastive_loss(QUERIES, DOCS, TARGETS, scale=2.0, normalization="row", exclude=exclude)
    assert row.item() == pytest.approx((row0 + row1) / 2, rel=1e-12)
    z = math.exp(2) + 1 + 1 + 1 + math.exp(1.2)
    matrix = contrastive_loss(QUERIES, DOCS, TARGETS, scale=2.0, normalization="matrix", exclude=exclude)
    assert matrix.item() == pytest.approx(((math.log(z) - 2) + (math.log(z) - 1.2)) / 2, rel=1e-12)
    # Masking a higher-scoring competitor can only lower the loss.
    assert row < contrastive_loss(QUERIES, DOCS, TARGETS, scale=2.0, normalization="row")


def test_scale_multiplies_the_cosines():
    row0 = math.log(math.exp(20) + 2) - 20
    row1 = math.log(1 + math.exp(12) + math.exp(16)) - 12
    assert contrastive_loss(QUERIES, DOCS, TARGETS).item() == pytest.approx((row0 + row1) / 2, rel=1e-12)


@pytest.mark.parametrize("with_exclude", [False, True])
def test_row_equals_cross_entropy_of_scaled_cosines(with_exclude):
    queries, docs, targets = random_batch(b=6, n=9, seed=1)
    exclude = None
    scores = 20.0 * F.cosine_similarity(queries[:, None, :], docs[None, :, :], dim=-1)
    if with_exclude:
        exclude = torch.rand(6, 9, generator=torch.Generator().manual_seed(2)) < 0.3
        exclude[torch.arange(6), targets] = False
        scores = scores.masked_fill(exclude, float("-inf"))
    expected = F.cross_entropy(scores, targets)
    got = contrastive_loss(queries, docs, targets, exclude=exclude)
    torch.testing.assert_close(got, expected)


def test_matrix_equals_the_authors_formula():
    # dual-encoders' training_step: docs = [positives; negatives], positives on the diagonal,
    # loss = mean(-log(diag(exp(S)) / sum(exp(S)))).
    queries, docs, _ = random_batch(b=4, n=8, seed=3)
    scores = torch.exp(20.0 * F.normalize(queries, dim=-1) @ F.normalize(docs, dim=-1).T)
    expected = torch.mean(-torch.log(torch.diagonal(scores) / torch.sum(scores)))
    got = contrastive_loss(queries, docs, torch.arange(4), normalization="matrix")
    torch.testing.assert_close(got, expected)


def test_matrix_minimum_is_log_batch_size():
    # Perfect separation: every query is its own doc, orthogonal to the others.
    b = 5
    vectors = torch.eye(b, dtype=torch.float64)
    row = contrastive_loss(vectors, vectors, torch.arange(b), scale=200.0, normalization="row")
    matrix = contrastive_loss(vectors, vectors, torch.arange(b), scale=200.0, normalization="matrix")
    assert row.item() == pytest.approx(0.0, abs=1e-12)
    assert matrix.item() == pytest.approx(math.log(b), rel=1e-12)


def test_shared_positive_is_allowed():
    queries, docs, _ = random_batch(b=3, n=4, seed=4)
    targets = torch.tensor([2, 2, 0])
    for normalization in NORMALIZATIONS:
        assert torch.isfinite(contrastive_loss(queries, docs, targets, normalization=normalization))


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
def test_gradients_reach_both_inputs_and_stay_finite(normalization):
    queries, docs, targets = random_batch(seed=5)
    queries.requires_grad_(True)
    docs.requires_grad_(True)
    exclude = torch.zeros(4, 7, dtype=torch.bool)
    exclude[0, (targets[0] + 1) % 7] = True
    contrastive_loss(queries, docs, targets, normalization=normalization, exclude=exclude).backward()
    for grad in (queries.grad, docs.grad):
        assert grad is not None
        assert torch.isfinite(grad).all()
        assert grad.abs().sum() > 0


def test_excluding_a_target_raises():
    exclude = torch.tensor([[True, False, False], [False, False, False]])
    with pytest.raises(ValueError, match="target"):
        contrastive_loss(QUERIES, DOCS, TARGETS, exclude=exclude)


def test_bad_tensors_raise_value_error():
    with pytest.raises(ValueError, match="targets must index"):
        contrastive_loss(QUERIES, DOCS, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="dim"):
        contrastive_loss(QUERIES, torch.eye(4, dtype=torch.float64), TARGETS)
    with pytest.raises(ValueError, match="integer"):
        contrastive_loss(QUERIES, DOCS, TARGETS.double())
    with pytest.raises(ValueError, match="bool"):
        contrastive_loss(QUERIES, DOCS, TARGETS, exclude=torch.zeros(2, 3))


def test_unknown_normalization_is_a_user_error():
    with pytest.raises(UserError, match=r"'column'.*row, matrix"):
        contrastive_loss(QUERIES, DOCS, TARGETS, normalization="column")
    with pytest.raises(UserError, match="'column'"):
        ContrastiveLoss(normalization="column")
    with pytest.raises(UserError, match="dropout"):
        ContrastiveLoss(dropout=1.0)
    with pytest.raises(UserError, match="scale"):
        ContrastiveLoss(scale=0.0)


def test_module_matches_function_in_eval_mode():
    queries, docs, targets = random_batch(seed=6)
    module = ContrastiveLoss(scale=10.0, normalization="matrix", dropout=0.5).eval()
    expected = contrastive_loss(queries, docs, targets, scale=10.0, normalization="matrix")
    for _ in range(3):
        torch.testing.assert_close(module(queries, docs, targets), expected)


def test_module_drops_output_features_in_training_mode():
    queries, docs, targets = random_batch(b=8, n=16, d=64, seed=7)
    plain = contrastive_loss(queries, docs, targets)
    torch.manual_seed(0)
    module = ContrastiveLoss(dropout=0.1).train()
    assert module(queries, docs, targets).item() != pytest.approx(plain.item())
    torch.testing.assert_close(ContrastiveLoss(dropout=0.0).train()(queries, docs, targets), plain)
    assert "normalization='row'" in repr(module) and "p=0.1" in repr(module)


def test_scores_stay_in_full_precision_under_autocast():
    queries, docs, targets = random_batch(b=8, n=16, d=64, seed=8)
    queries, docs = queries.float(), docs.float()
    expected = contrastive_loss(queries, docs, targets)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = contrastive_loss(queries, docs, targets)
        half_inputs = contrastive_loss(queries.bfloat16(), docs.bfloat16(), targets)
    assert got.dtype == torch.float32 and half_inputs.dtype == torch.float32
    torch.testing.assert_close(got, expected)
