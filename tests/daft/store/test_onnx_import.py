"""ONNX -> BertModel conversion: round trips through both torch exporters, corrupted graphs, the real file."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import onnx
import pytest
import torch
import transformers
from onnx import numpy_helper

from daft.core.errors import UserError
from daft.store import onnx_import
from daft.store.onnx_import import (
    bert_from_onnx,
    convert_minilm_onnx,
    max_abs_diff_vs_onnxruntime,
    output_diffs,
    write_bert_dir,
)

WORDS = (
    "the an man is playing plays guitar acoustic on street someone outdoors what capital of france hi quick "
    "brown fox jumps over lazy dog asking for friend dense retrieval query encoder"
)
VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    *".,!?'()-;:&$%#@/+",
    *"0123456789",
    *"abcdefghijklmnopqrstuvwxyz",
    *(f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"),
    *WORDS.split(),
]
SENTENCES = [
    "hi.",
    "a man is playing a guitar on the street.",
    "what's the capital of france?! (asking for a friend...)",
    "the quick brown fox jumps over the lazy dog; 42% of dense retrieval, #query @encoder / zzz",
    " ".join(["someone plays an acoustic guitar outdoors"] * 6),  # long: 37 tokens, fills most positions
]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tokenizer")
    (path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    config = {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 48}
    (path / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return path


def tiny_bert(attn: str = "eager", pooler: bool = False, randomise: bool = True) -> transformers.BertModel:
    config = transformers.BertConfig(
        vocab_size=len(VOCAB) + 11,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=48,
        type_vocab_size=2,
        attn_implementation=attn,
    )
    torch.manual_seed(0)
    model = transformers.BertModel(config, add_pooling_layer=pooler).eval()
    if randomise:
        # Distinct values everywhere: the exporters deduplicate equal tensors (LayerNorm ones, zero biases),
        # which would make a wrong assignment between them invisible to the equality checks.
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.normal_(0.0, 0.3)
    return model


class _Transformer(torch.nn.Module):
    def __init__(self, bert: transformers.BertModel):
        super().__init__()
        self.auto_model = bert


class SentenceTransformerLike(torch.nn.Module):
    """What the real file was exported from: the `model.0.auto_model.` prefix, mean pooling, echoed inputs."""

    def __init__(self, bert: transformers.BertModel, dense: bool = False, echo: bool = True):
        super().__init__()
        self.model = torch.nn.ModuleList([_Transformer(bert)])
        self.dense = torch.nn.Linear(bert.config.hidden_size, 8) if dense else None
        self.echo = echo

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        tokens = (
            self.model[0].auto_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        )
        mask = attention_mask.unsqueeze(-1).expand(tokens.size()).float()
        sentence = torch.sum(tokens * mask, 1) / torch.clamp(mask.sum(1), min=1e-9)
        if self.dense is not None:
            sentence = torch.tanh(self.dense(sentence))
        return (input_ids, attention_mask, tokens, sentence) if self.echo else (tokens, sentence)


class PlainBert(torch.nn.Module):
    def __init__(self, bert: transformers.BertModel):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.bert(input_ids=input_ids, attention_mask=attention_mask)
        return out.last_hidden_state, out.pooler_output


def export(module: torch.nn.Module, path: Path, exporter: str) -> Path:
    ids = torch.randint(5, len(VOCAB), (2, 7), generator=torch.Generator().manual_seed(1))
    # The example must contain padding: transformers skips the attention mask for an all-ones mask, and
    # tracing would bake that shortcut into the graph.
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 4:] = 0
    names = {"input_names": ["input_ids", "attention_mask"], "output_names": ["output"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and deprecation warnings from torch's exporters
        if exporter == "legacy":
            axes = {name: {0: "batch_size", 1: "sequence_length"} for name in names["input_names"]}
            torch.onnx.export(
                module.eval(),
                (ids, mask),
                str(path),
                dynamo=False,
                opset_version=17,
                dynamic_axes=axes,
                **names,
            )
        else:
            pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript")
            dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("seq", max=48)}
            torch.onnx.export(
                module.eval(),
                (ids, mask),
                str(path),
                dynamo=True,
                dynamic_shapes=(dims, dims),
                verbose=False,
                **names,
            )
    return path


def assert_same_state(converted: dict[str, torch.Tensor], reference: torch.nn.Module) -> None:
    expected = reference.state_dict()
    assert sorted(converted) == sorted(expected)
    different = [key for key in expected if not torch.equal(converted[key], expected[key])]
    assert not different, f"converted weights differ: {different}"


@pytest.mark.parametrize(("exporter", "attn"), [("legacy", "eager"), ("legacy", "sdpa"), ("dynamo", "sdpa")])
def test_round_trip_sentence_transformers_export(
    tmp_path: Path, tokenizer_dir: Path, exporter: str, attn: str
) -> None:
    bert = tiny_bert(attn)
    # The dynamo exporter turns an echoed input into an output of the same name, which onnxruntime rejects.
    module = SentenceTransformerLike(bert, echo=exporter == "legacy")
    path = export(module, tmp_path / "model.onnx", exporter)
    matrices = [t.name for t in onnx.load(str(path)).graph.initializer if len(t.dims) == 2]
    # The mapping must not lean on names: both exporters store the 12 Linear weights anonymously.
    anonymous = "onnx::MatMul_" if exporter == "legacy" else "val_"
    assert sum(name.startswith(anonymous) for name in matrices) == 12

    config, state = bert_from_onnx(path)
    for key in ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size", "vocab_size"):
        assert getattr(config, key) == getattr(bert.config, key), key
    assert (config.max_position_embeddings, config.type_vocab_size) == (48, 2)
    assert (config.layer_norm_eps, config.hidden_act) == (1e-12, "gelu")
    assert_same_state(state, bert)

    out = tmp_path / "bert"
    write_bert_dir(config, state, tokenizer_dir, out)
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertModel"]
    assert {"model.safetensors", "vocab.txt", "tokenizer_config.json"} <= {p.name for p in out.iterdir()}
    diffs = output_diffs(path, out, SENTENCES)
    assert len(diffs) == 2  # token embeddings and the mean-pooled sentence embedding, not the echoed ids
    assert max_abs_diff_vs_onnxruntime(path, out, SENTENCES) < 1e-5


def test_round_trip_plain_bert_with_pooler(tmp_path: Path, tokenizer_dir: Path) -> None:
    bert = tiny_bert(pooler=True)
    path = export(PlainBert(bert), tmp_path / "model.onnx", "legacy")
    config, state = bert_from_onnx(path)
    assert_same_state(state, bert)  # pooler included: it is in the graph
    out = tmp_path / "bert"
    assert convert_minilm_onnx(path, tokenizer_dir, out, SENTENCES, tolerance=1e-5) < 1e-5
    assert (
        len(output_diffs(path, out, SENTENCES)) == 2
    )  # the (batch, hidden) output compared to pooler_output


def test_deduplicated_tensors_resolve_through_identity(tmp_path: Path, tokenizer_dir: Path) -> None:
    bert = tiny_bert(randomise=False)  # LayerNorm weights all ones, biases all zeros
    path = export(SentenceTransformerLike(bert), tmp_path / "model.onnx", "legacy")
    graph = onnx.load(str(path)).graph
    initializers = {t.name for t in graph.initializer}
    assert any(n.op_type == "Identity" and n.input[0] in initializers for n in graph.node)
    config, state = bert_from_onnx(path)
    assert_same_state(state, bert)
    assert convert_minilm_onnx(path, tokenizer_dir, tmp_path / "bert", SENTENCES, tolerance=1e-5) < 1e-5


def test_mapping_needs_no_names(tmp_path: Path, tokenizer_dir: Path) -> None:
    bert = tiny_bert()
    path = export(SentenceTransformerLike(bert), tmp_path / "model.onnx", "legacy")
    model = onnx.load(str(path))
    # Anonymise every initializer and node: what is left is the data flow, which must suffice.
    renamed = {t.name: f"w{i}" for i, t in enumerate(model.graph.initializer)}
    for tensor in model.graph.initializer:
        tensor.name = renamed[tensor.name]
    for node in model.graph.node:
        node.name = ""
        node.input[:] = [renamed.get(name, name) for name in node.input]
    onnx.save(model, str(path))
    config, state = bert_from_onnx(path)
    assert_same_state(state, bert)
    assert convert_minilm_onnx(path, tokenizer_dir, tmp_path / "bert", SENTENCES, tolerance=1e-5) < 1e-5


@pytest.fixture
def legacy_graph(tmp_path: Path) -> tuple[Path, onnx.ModelProto]:
    path = export(SentenceTransformerLike(tiny_bert()), tmp_path / "model.onnx", "legacy")
    return path, onnx.load(str(path))


def _layer1_key_weight(model: onnx.ModelProto) -> str:
    # The anonymous initializer of layer 1's key projection, found through the node scope of the export.
    node = next(n for n in model.graph.node if n.name.endswith("layer.1/attention/self/key/MatMul"))
    return node.input[1]


@pytest.mark.parametrize("which", ["named bias", "anonymous MatMul weight"])
def test_removed_initializer_is_named(legacy_graph: tuple[Path, onnx.ModelProto], which: str) -> None:
    path, model = legacy_graph
    name = (
        "model.0.auto_model.encoder.layer.1.attention.self.key.bias"
        if which == "named bias"
        else _layer1_key_weight(model)
    )
    assert name.startswith("model.0.") or name.startswith("onnx::MatMul_")
    kept = [t for t in model.graph.initializer if t.name != name]
    assert len(kept) == len(model.graph.initializer) - 1
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    onnx.save(model, str(path))
    with pytest.raises(UserError, match=f"{path}.*{name}"):
        bert_from_onnx(path)


def test_leftover_initializer_is_named(legacy_graph: tuple[Path, onnx.ModelProto]) -> None:
    path, model = legacy_graph
    extra = numpy_helper.from_array(torch.ones(32, 32).numpy(), name="model.2.linear.weight")
    model.graph.initializer.append(extra)
    onnx.save(model, str(path))
    with pytest.raises(UserError, match=f"{path}.*model.2.linear.weight"):
        bert_from_onnx(path)


def test_wrong_shape_is_named(legacy_graph: tuple[Path, onnx.ModelProto]) -> None:
    path, model = legacy_graph
    name = "model.0.auto_model.encoder.layer.0.output.LayerNorm.bias"
    tensor = next(t for t in model.graph.initializer if t.name == name)
    tensor.CopyFrom(numpy_helper.from_array(torch.zeros(31).numpy(), name=name))
    onnx.save(model, str(path))
    with pytest.raises(UserError, match=f"{path}.*{name}"):
        bert_from_onnx(path)


@pytest.mark.parametrize("lie", ["initializer names", "node scope"])
def test_names_that_contradict_the_graph_are_rejected(
    legacy_graph: tuple[Path, onnx.ModelProto], lie: str
) -> None:
    # The mapping follows the data flow; a name saying otherwise means the walk or the file is not what it
    # seems, so the conversion stops rather than picking one.
    path, model = legacy_graph
    if lie == "initializer names":
        query, key = (f"model.0.auto_model.encoder.layer.0.attention.self.{p}.bias" for p in ("query", "key"))
        swap = {query: key, key: query}
        for tensor in model.graph.initializer:
            tensor.name = swap.get(tensor.name, tensor.name)
        for node in model.graph.node:
            node.input[:] = [swap.get(name, name) for name in node.input]
        expected = "named like encoder.layer.0.attention.self.key.bias"
    else:
        node = next(n for n in model.graph.node if n.name.endswith("layer.0/attention/self/query/MatMul"))
        node.name = node.name.replace("query", "value")
        expected = "scoped as encoder.layer.0.attention.self.value.weight"
    onnx.save(model, str(path))
    with pytest.raises(UserError, match=expected):
        bert_from_onnx(path)


def test_dense_head_is_rejected(tmp_path: Path) -> None:
    path = export(SentenceTransformerLike(tiny_bert(), dense=True), tmp_path / "model.onnx", "legacy")
    with pytest.raises(UserError, match="not a BERT pooler"):
        bert_from_onnx(path)


def test_verification_catches_a_wrong_mapping(
    tmp_path: Path, tokenizer_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = export(SentenceTransformerLike(tiny_bert()), tmp_path / "model.onnx", "legacy")
    config, state = bert_from_onnx(path)
    query, key = "encoder.layer.1.attention.self.query.weight", "encoder.layer.1.attention.self.key.weight"
    state[query], state[key] = state[key], state[query]  # same shape: only the numbers can tell

    write_bert_dir(config, state, tokenizer_dir, tmp_path / "swapped")
    assert max_abs_diff_vs_onnxruntime(path, tmp_path / "swapped", SENTENCES) > 1e-3
    monkeypatch.setattr(onnx_import, "bert_from_onnx", lambda _: (config, state))
    with pytest.raises(UserError, match=f"{path}: converted model differs"):
        convert_minilm_onnx(path, tokenizer_dir, tmp_path / "again", SENTENCES)
