"""Turn a BERT encoder that ships only as ONNX back into a plain `transformers` BertModel directory.

Exporters rename and reshape weights: the legacy TorchScript exporter stores every Linear weight transposed
as an anonymous `onnx::MatMul_<n>` initializer and deduplicates equal tensors behind Identity nodes; the
dynamo exporter calls them `val_<n>` and may share one initializer between several LayerNorms. Names
therefore cannot be trusted to say where a weight belongs. Instead the encoder is walked along its data
flow (embedding LayerNorm, then per layer: Q/K/V, attention output, LayerNorm, intermediate, output,
LayerNorm), which assigns every tensor to a BertModel key; names and node scopes, where present, are only
used to double-check that walk. The result is verified numerically against onnxruntime.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
import transformers
from onnx import numpy_helper

from daft.core.errors import UserError

DEFAULT_SENTENCES: tuple[str, ...] = (
    "Hi.",
    "A man is playing a guitar on the street.",
    "Someone plays an acoustic guitar outdoors.",
    "What's the capital of France?! (Asking for a friend...)",
    "The quick brown fox jumps over the lazy dog; then, exhausted, it naps -- zzz.",
    "Numbers & symbols: 3.14159, $42, 100%, #hashtag, e-mail@example.com, C++/C#.",
    "Ünïcödé: façade, café, naïve, résumé, 東京, Москва.",
    # 150 tokens: reaches positions past 128, where sentence-transformers usually truncates this model.
    " ".join(
        [
            "Dense retrieval encodes queries and documents into vectors and ranks documents by similarity,",
            "which makes first-stage search fast; lightweight query encoders shrink the cost further,",
            "because the documents are encoded once, offline, while every query must be encoded online,",
            "under a latency budget, on modest hardware, often one query at a time, with no batching.",
        ]
        * 2
    ),
)

TOKENIZER_FILES: tuple[str, ...] = (
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
)

_FLOAT_TYPES = {
    onnx.TensorProto.FLOAT,
    onnx.TensorProto.FLOAT16,
    onnx.TensorProto.DOUBLE,
    onnx.TensorProto.BFLOAT16,
}
# Ops whose output is metadata about a tensor, not its values: following them would let the data-flow walk
# leak from one projection into unrelated Reshapes that merely read its shape.
_SHAPE_OPS = {"Shape", "Size"}
_LINEAR_OPS = {"MatMul", "Gemm"}
# Ops that may sit between the encoder output and a BERT pooler's dense layer (hidden[:, 0]).
_FIRST_TOKEN_OPS = {"Gather", "Slice", "Squeeze", "Unsqueeze", "Reshape", "Flatten", "Identity"}
_SCOPE = re.compile(
    r"layer\.(\d+)/(attention/self/query|attention/self/key|attention/self/value|attention/output/dense"
    r"|intermediate/dense|output/dense)/(?:MatMul|Gemm)"
)


@dataclass(frozen=True)
class _Tensor:
    """A constant found in the graph: the name a node refers to, the initializer behind it, its value."""

    ref: str
    source: str
    array: np.ndarray


@dataclass(frozen=True)
class _Linear:
    """A MatMul/Gemm with a constant weight, the weight already in torch's (out, in) layout."""

    node: onnx.NodeProto
    weight: _Tensor
    bias: _Tensor | None


class _Graph:
    """Indexes over one ONNX graph, and the structural queries the BERT walk needs."""

    def __init__(self, path: Path, model: onnx.ModelProto):
        self.path = path
        graph = model.graph
        self.initializers = {t.name: t for t in graph.initializer}
        self.inputs = {i.name for i in graph.input} - set(self.initializers)
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[tuple[onnx.NodeProto, int]]] = {}
        for node in graph.node:
            for name in node.output:
                self.producer[name] = node
            for index, name in enumerate(node.input):
                if name:
                    self.consumers.setdefault(name, []).append((node, index))
        self._arrays: dict[str, np.ndarray] = {}
        self._check_references(graph)

    def error(self, message: str) -> UserError:
        """A UserError that names the ONNX file."""
        return UserError(f"{self.path}: {message}")

    def _check_references(self, graph: onnx.GraphProto) -> None:
        # A removed or renamed initializer leaves a dangling reference that onnx.load accepts; catching it
        # here names the tensor instead of failing later with a vague "no bias after MatMul".
        known = set(self.initializers) | self.inputs | set(self.producer)
        for node in graph.node:
            for name in node.input:
                if name and name not in known:
                    raise self.error(
                        f"tensor {name!r} used by node {node.name or node.op_type!r} is not defined"
                    )

    def constant(self, name: str) -> _Tensor | None:
        """The constant value behind `name` (initializer, Constant node, or Identity of either), else None."""
        source = name
        while source not in self.initializers:
            node = self.producer.get(source)
            if node is None:
                return None
            if node.op_type == "Identity":
                source = node.input[0]
            elif node.op_type == "Constant":
                return _Tensor(name, source, self._constant_node_value(node))
            else:
                return None
        if source not in self._arrays:
            self._arrays[source] = numpy_helper.to_array(self.initializers[source])
        return _Tensor(name, source, self._arrays[source])

    @staticmethod
    def _constant_node_value(node: onnx.NodeProto) -> np.ndarray:
        attribute = node.attribute[0]
        if attribute.name == "value":
            return numpy_helper.to_array(attribute.t)
        return np.asarray(onnx.helper.get_attribute_value(attribute))

    def float_matrix(self, name: str) -> _Tensor | None:
        """The constant behind `name` if it is a 2-D floating-point tensor."""
        tensor = self.constant(name)
        return tensor if tensor is not None and tensor.array.ndim == 2 and _is_float(tensor.array) else None

    def linear(self, node: onnx.NodeProto) -> _Linear | None:
        """Read `node` as a Linear layer (MatMul or Gemm with a constant weight), else None."""
        if node.op_type == "MatMul":
            weight = self.float_matrix(node.input[1])
            if weight is not None:  # x @ W with W stored (in, out)
                weight = _Tensor(weight.ref, weight.source, weight.array.T)
            else:
                transpose = self.producer.get(node.input[1])
                if (
                    transpose is None
                    or transpose.op_type != "Transpose"
                    or _perm(transpose) not in ([1, 0], None)
                ):
                    return None
                weight = self.float_matrix(transpose.input[0])  # x @ W.T with W stored (out, in)
                if weight is None:
                    return None
            return _Linear(node, weight, self._bias_after(node, weight.array.shape[0]))
        if node.op_type == "Gemm":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            weight = self.float_matrix(node.input[1])
            if weight is None:
                return None
            if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
                raise self.error(f"Gemm {node.name!r} on {weight.ref!r} uses transA/alpha/beta, not a Linear")
            if not attrs.get("transB", 0):
                weight = _Tensor(weight.ref, weight.source, weight.array.T)
            bias = self.constant(node.input[2]) if len(node.input) > 2 and node.input[2] else None
            if bias is None:
                bias = self._bias_after(node, weight.array.shape[0])
            return _Linear(node, weight, bias)
        return None

    def _bias_after(self, node: onnx.NodeProto, width: int) -> _Tensor | None:
        # Exporters split nn.Linear into MatMul + Add(bias); the bias is the Add's constant 1-D operand.
        for consumer, index in self.consumers.get(node.output[0], []):
            if consumer.op_type == "Add":
                other = self.constant(consumer.input[1 - index])
                if other is not None and other.array.shape == (width,) and _is_float(other.array):
                    return other
        return None

    def forward(
        self, start: str, stop: Callable[[onnx.NodeProto], bool]
    ) -> tuple[list[tuple[onnx.NodeProto, int]], set[str]]:
        """Follow data flow from `start` to the first nodes matching `stop`; also the op types passed."""
        hits: dict[tuple[int, int], tuple[onnx.NodeProto, int]] = {}
        passed: set[str] = set()
        seen = {start}
        queue = deque([start])
        while queue:
            for node, index in self.consumers.get(queue.popleft(), []):
                if node.op_type in _SHAPE_OPS:
                    continue
                if stop(node):
                    hits[id(node), index] = (node, index)
                    continue
                passed.add(node.op_type)
                for output in node.output:
                    if output and output not in seen:
                        seen.add(output)
                        queue.append(output)
        return list(hits.values()), passed

    def linears_from(self, start: str) -> list[_Linear]:
        """The Linear layers reached from `start` before any other MatMul or LayerNormalization."""
        hits, _ = self.forward(start, _is_matmul_or_norm)
        found = [self.linear(node) for node, index in hits if index == 0]
        return [linear for linear in found if linear is not None]

    def single(self, hits: Iterable[onnx.NodeProto], what: str, where: str) -> onnx.NodeProto:
        """Exactly one node, or a UserError saying what was expected where."""
        nodes = list({id(node): node for node in hits}.values())
        if len(nodes) != 1:
            found = ", ".join(node.name or node.op_type for node in nodes) or "none"
            raise self.error(f"expected one {what} after {where!r}, found {found}")
        return nodes[0]

    def trailing_ints(self, name: str) -> list[int]:
        """The constant tail of a shape tensor (a Concat of dynamic and constant parts, or a constant)."""
        tensor = self.constant(name)
        if tensor is not None:
            return [int(v) for v in tensor.array.reshape(-1)]
        node = self.producer.get(name)
        tail: list[int] = []
        if node is not None and node.op_type == "Concat":
            for part in reversed(node.input):
                value = self.constant(part)
                if value is None:
                    break
                tail = [int(v) for v in value.array.reshape(-1)] + tail
        return tail

    def reaches_input(self, name: str, input_name: str) -> bool:
        """Whether `name` is computed from the graph input `input_name`."""
        seen, queue = {name}, deque([name])
        while queue:
            current = queue.popleft()
            if current == input_name:
                return True
            node = self.producer.get(current)
            for parent in node.input if node is not None else ():
                if parent and parent not in seen:
                    seen.add(parent)
                    queue.append(parent)
        return False


def _is_float(array: np.ndarray) -> bool:
    return array.dtype.kind == "f" or array.dtype.name == "bfloat16"


def _perm(node: onnx.NodeProto) -> list[int] | None:
    for attribute in node.attribute:
        if attribute.name == "perm":
            return list(attribute.ints)
    return None


def _is_matmul_or_norm(node: onnx.NodeProto) -> bool:
    return node.op_type in _LINEAR_OPS or node.op_type == "LayerNormalization"


def _is_norm(node: onnx.NodeProto) -> bool:
    return node.op_type == "LayerNormalization"


class _Walk:
    """Assign every encoder tensor of one graph to its BertModel key by following the data flow."""

    def __init__(self, graph: _Graph):
        self.g = graph
        self.slots: dict[str, _Tensor] = {}
        self.linear_nodes: dict[str, onnx.NodeProto] = {}
        self.eps: set[float] = set()
        self.activations: set[str] = set()
        self.heads: int | None = None

    def put(self, key: str, tensor: _Tensor | None, node: onnx.NodeProto) -> None:
        """Record `tensor` as BertModel parameter `key`."""
        if tensor is None:
            raise self.g.error(f"no constant for {key} at node {node.name or node.op_type!r}")
        self.slots[key] = tensor

    def put_linear(self, prefix: str, linear: _Linear) -> None:
        """Record a Linear layer's weight and bias under `prefix`."""
        if linear.bias is None:
            raise self.g.error(
                f"no bias Add after {linear.node.name or 'MatMul'!r} (weight {linear.weight.ref!r})"
            )
        self.slots[f"{prefix}.weight"] = linear.weight
        self.slots[f"{prefix}.bias"] = linear.bias
        self.linear_nodes[f"{prefix}.weight"] = linear.node

    def put_norm(self, prefix: str, node: onnx.NodeProto) -> str:
        """Record a LayerNormalization's scale and bias under `prefix`; return its output."""
        if len(node.input) < 3:
            raise self.g.error(f"LayerNormalization {node.name!r} has no bias")
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("axis", -1) != -1:
            raise self.g.error(
                f"LayerNormalization {node.name!r} normalises axis {attrs['axis']}, not the last"
            )
        self.eps.add(float(attrs.get("epsilon", 1e-5)))
        self.put(f"{prefix}.weight", self.g.constant(node.input[1]), node)
        self.put(f"{prefix}.bias", self.g.constant(node.input[2]), node)
        return node.output[0]

    def embeddings(self) -> str:
        """Map the three embedding tables and their LayerNorm; return the encoder's input tensor."""
        g = self.g
        if "input_ids" not in g.inputs:
            raise g.error(f"no graph input 'input_ids' (inputs: {sorted(g.inputs)})")
        words = [
            node
            for node, index in g.consumers.get("input_ids", [])
            if node.op_type == "Gather" and index == 1 and g.float_matrix(node.input[0]) is not None
        ]
        word = g.single(words, "embedding Gather", "input_ids")
        norm = g.single(
            (n for n, _ in g.forward(word.output[0], _is_norm)[0]), "LayerNormalization", word.name
        )
        tables = []  # the Gathers whose sum feeds the embedding LayerNorm
        queue, seen = deque([norm.input[0]]), set()
        while queue:
            node = g.producer.get(queue.popleft())
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            if node.op_type == "Add":
                queue.extend(node.input)
            elif node.op_type == "Gather" and g.float_matrix(node.input[0]) is not None:
                tables.append(node)
        others = [node for node in tables if node is not word]
        if len(others) != 2:
            raise g.error(f"expected word, position and token-type embeddings before {norm.name!r}")
        position, token_type = self._position_and_token_type(others)
        self.put("embeddings.word_embeddings.weight", g.float_matrix(word.input[0]), word)
        self.put("embeddings.position_embeddings.weight", g.float_matrix(position.input[0]), position)
        self.put("embeddings.token_type_embeddings.weight", g.float_matrix(token_type.input[0]), token_type)
        return self.put_norm("embeddings.LayerNorm", norm)

    def _position_and_token_type(self, pair: list[onnx.NodeProto]) -> tuple[onnx.NodeProto, onnx.NodeProto]:
        g = self.g
        tables = [g.float_matrix(node.input[0]) for node in pair]
        names = [t.ref if t is not None else "" for t in tables]
        rows = [t.array.shape[0] if t is not None else 0 for t in tables]
        # Names first; then which graph input an index comes from; then the usual 512 vs 2 rows.
        for pos, typ in ((0, 1), (1, 0)):
            if names[pos].endswith("position_embeddings.weight") and names[typ].endswith(
                "token_type_embeddings.weight"
            ):
                return pair[pos], pair[typ]
        for pos, typ in ((0, 1), (1, 0)):
            if "token_type_ids" in g.inputs and g.reaches_input(pair[typ].input[1], "token_type_ids"):
                return pair[pos], pair[typ]
        if rows[0] == rows[1]:
            raise g.error(f"cannot tell position from token-type embeddings: {names[0]!r}, {names[1]!r}")
        return (pair[0], pair[1]) if rows[0] > rows[1] else (pair[1], pair[0])

    def layer(self, index: int, hidden: str, qkv: list[_Linear]) -> str:
        """Map one encoder layer whose input is `hidden` and whose Q/K/V candidates are `qkv`."""
        g, prefix = self.g, f"encoder.layer.{index}"
        meets: dict[str, list[tuple[_Linear, onnx.NodeProto, int]]] = {}
        for linear in qkv:
            hits, _ = g.forward(linear.node.output[0], _is_matmul_or_norm)
            matmul = g.single((n for n, _ in hits), "attention MatMul", linear.node.name)
            position = next(i for n, i in hits if n is matmul)
            meets.setdefault(matmul.name or matmul.output[0], []).append((linear, matmul, position))
        # Q and K meet in the score MatMul (Q on the left); V is the right operand of the context MatMul.
        scores = [group for group in meets.values() if sorted(p for _, _, p in group) == [0, 1]]
        contexts = [group for group in meets.values() if [p for _, _, p in group] == [1]]
        if len(meets) != 2 or len(scores) != 1 or len(contexts) != 1:
            raise g.error(f"cannot identify query/key/value projections of layer {index} after {hidden!r}")
        query = next(linear for linear, _, p in scores[0] if p == 0)
        key = next(linear for linear, _, p in scores[0] if p == 1)
        value, context, _ = contexts[0][0]
        self.put_linear(f"{prefix}.attention.self.query", query)
        self.put_linear(f"{prefix}.attention.self.key", key)
        self.put_linear(f"{prefix}.attention.self.value", value)
        self._heads_from(query)

        where = context.name or context.output[0]
        dense = self._one_linear(context.output[0], where)
        self.put_linear(f"{prefix}.attention.output.dense", dense)
        attention = self.put_norm(f"{prefix}.attention.output.LayerNorm", self._norm_after(dense))
        intermediate = self._one_linear(attention, attention)
        self.put_linear(f"{prefix}.intermediate.dense", intermediate)
        hits, passed = g.forward(intermediate.node.output[0], _is_matmul_or_norm)
        output = g.linear(g.single((n for n, _ in hits), "output MatMul", intermediate.node.name))
        if output is None:
            raise g.error(f"the MatMul after {intermediate.node.name!r} has no constant weight")
        self.activations.add(_activation(passed, intermediate, g))
        self.put_linear(f"{prefix}.output.dense", output)
        return self.put_norm(f"{prefix}.output.LayerNorm", self._norm_after(output))

    def _one_linear(self, start: str, where: str) -> _Linear:
        linears = self.g.linears_from(start)
        if len(linears) != 1:
            raise self.g.error(f"expected one Linear MatMul after {where!r}, found {len(linears)}")
        return linears[0]

    def _norm_after(self, linear: _Linear) -> onnx.NodeProto:
        hits, _ = self.g.forward(linear.node.output[0], _is_matmul_or_norm)
        return self.g.single((n for n, _ in hits), "LayerNormalization", linear.node.name)

    def _heads_from(self, query: _Linear) -> None:
        # The split into heads is a Reshape of the query projection to (batch, seq, heads, head_dim); legacy
        # exports keep both as constants, dynamo keeps head_dim and writes -1 for heads.
        g = self.g
        hits, _ = g.forward(query.node.output[0], lambda n: n.op_type in ("Reshape", "MatMul", "Gemm"))
        reshapes = [n for n, i in hits if n.op_type == "Reshape" and i == 0]
        hidden = query.weight.array.shape[0]
        tail = g.trailing_ints(reshapes[0].input[1]) if len(reshapes) == 1 else []
        heads = None
        if len(tail) >= 2 and tail[-2] > 0:
            heads = tail[-2]
            if tail[-1] > 0 and heads * tail[-1] != hidden:
                heads = None
        elif len(tail) >= 1 and tail[-1] > 0 and hidden % tail[-1] == 0:
            heads = hidden // tail[-1]
        if heads is None or hidden % heads:
            raise g.error(
                f"cannot infer the number of attention heads from the Reshape after {query.weight.ref!r}"
            )
        if self.heads not in (None, heads):
            raise g.error(f"layers disagree on the number of attention heads ({self.heads} vs {heads})")
        self.heads = heads

    def pooler(self, hidden: str, linears: list[_Linear]) -> bool:
        """Map a BERT pooler (tanh(dense(hidden[:, 0]))) if that is what follows the encoder."""
        if not linears:
            return False
        g, linear = self.g, linears[0]
        current, ok = linear.node.input[0], len(linears) == 1
        while ok and current != hidden:
            node = g.producer.get(current)
            ok = node is not None and node.op_type in _FIRST_TOKEN_OPS
            current = node.input[0] if ok else current
        tail = linear.node.output[0]
        if ok and linear.node.op_type == "MatMul":
            adds = [n for n, _ in g.consumers.get(tail, []) if n.op_type == "Add"]
            tail = adds[0].output[0] if len(adds) == 1 else tail
        ok = ok and any(n.op_type == "Tanh" for n, _ in g.consumers.get(tail, []))
        if not ok:
            raise g.error(
                f"tensor {linear.weight.ref!r}: a linear layer after the encoder that is not a BERT pooler "
                "(a sentence-transformers Dense module?); a BertModel cannot hold it"
            )
        self.put_linear("pooler.dense", linear)
        return True


def _activation(passed: set[str], intermediate: _Linear, graph: _Graph) -> str:
    # hidden_act from the ops between the intermediate and output MatMuls.
    if "Gelu" in passed:
        gelu = graph.forward(intermediate.node.output[0], lambda n: n.op_type == "Gelu")[0][0][0]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in gelu.attribute}
        approximate = attrs.get("approximate", b"none")
        return "gelu_new" if approximate in (b"tanh", "tanh") else "gelu"
    if "Erf" in passed:
        return "gelu"
    if "Tanh" in passed:
        return "gelu_new"
    if "Relu" in passed:
        return "relu"
    raise graph.error(f"unrecognised activation after {intermediate.node.name!r}: ops {sorted(passed)}")


def _check_names(graph: _Graph, walk: _Walk) -> None:
    # Names and node scopes are not trusted for the mapping, but where they are unambiguous they must agree
    # with it: a disagreement means the walk misread the graph.
    word = walk.slots["embeddings.word_embeddings.weight"].ref
    suffix = "embeddings.word_embeddings.weight"
    prefix = word[: -len(suffix)] if word.endswith(suffix) else None
    uses = Counter(tensor.ref for tensor in walk.slots.values())
    for key, tensor in walk.slots.items():
        named = tensor.ref[len(prefix) :] if prefix is not None and tensor.ref.startswith(prefix) else None
        # A ref used by several slots is a deduplicated tensor that carries just one of their names.
        if named is not None and uses[tensor.ref] == 1 and named in walk.slots and named != key:
            raise graph.error(f"tensor {tensor.ref!r} is named like {named} but the graph uses it as {key}")
    for key, node in walk.linear_nodes.items():
        match = _SCOPE.search(node.name)
        scoped = f"encoder.layer.{match[1]}.{match[2].replace('/', '.')}.weight" if match else key
        if scoped != key:
            raise graph.error(
                f"node {node.name!r} ({walk.slots[key].ref!r}) is scoped as {scoped} but is {key}"
            )


def _expected_shapes(config: transformers.BertConfig, pooler: bool) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        model = transformers.BertModel(config, add_pooling_layer=pooler)
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def bert_from_onnx(onnx_path: Path) -> tuple[transformers.BertConfig, dict[str, torch.Tensor]]:
    """Read a BERT encoder's config and BertModel state dict (pooler only if the graph has one) from ONNX."""
    onnx_path = Path(onnx_path)
    try:
        model = onnx.load(str(onnx_path))
    except Exception as err:  # onnx raises DecodeError, OSError, ... for a bad file
        raise UserError(f"{onnx_path}: cannot read ONNX model: {err}") from None
    graph = _Graph(onnx_path, model)
    walk = _Walk(graph)
    hidden = walk.embeddings()
    layers = 0
    while len(linears := graph.linears_from(hidden)) == 3:
        hidden = walk.layer(layers, hidden, linears)
        layers += 1
    if layers == 0:
        raise graph.error("no BERT encoder layer (three Q/K/V MatMuls) after the embedding LayerNorm")
    pooler = walk.pooler(hidden, linears)
    _check_names(graph, walk)

    if len({np.float32(eps) for eps in walk.eps}) != 1:
        raise graph.error(f"LayerNorms disagree on epsilon: {sorted(walk.eps)}")
    if len(walk.activations) != 1:
        raise graph.error(f"layers disagree on the activation: {sorted(walk.activations)}")
    words = walk.slots["embeddings.word_embeddings.weight"].array
    config = transformers.BertConfig(
        vocab_size=words.shape[0],
        hidden_size=words.shape[1],
        num_hidden_layers=layers,
        num_attention_heads=walk.heads,
        intermediate_size=walk.slots["encoder.layer.0.intermediate.dense.weight"].array.shape[0],
        hidden_act=walk.activations.pop(),
        max_position_embeddings=walk.slots["embeddings.position_embeddings.weight"].array.shape[0],
        type_vocab_size=walk.slots["embeddings.token_type_embeddings.weight"].array.shape[0],
        # Stored as float32 (9.99999996e-13); its shortest float32 repr recovers the intended 1e-12.
        layer_norm_eps=float(str(np.float32(walk.eps.pop()))),
        architectures=["BertModel"],
    )

    expected = _expected_shapes(config, pooler)
    for key, shape in expected.items():
        if key not in walk.slots:
            raise graph.error(f"missing weight for {key}")
        if walk.slots[key].array.shape != shape:
            raise graph.error(
                f"tensor {walk.slots[key].ref!r} for {key} has shape {walk.slots[key].array.shape}, want {shape}"
            )
    used = {tensor.source for tensor in walk.slots.values()}
    leftovers = [
        name
        for name, tensor in graph.initializers.items()
        if name not in used and tensor.data_type in _FLOAT_TYPES and int(np.prod(tensor.dims)) > 1
    ]
    if leftovers:
        name = max(leftovers, key=lambda n: int(np.prod(graph.initializers[n].dims)))
        dims = list(graph.initializers[name].dims)
        raise graph.error(
            f"initializer {name!r} {dims} is not part of the BertModel ({len(leftovers)} unmapped)"
        )
    # Copies, in float32: deduplicated slots share one array, and safetensors refuses shared storage.
    state = {key: torch.from_numpy(np.array(walk.slots[key].array, dtype=np.float32)) for key in expected}
    return config, state


def write_bert_dir(
    config: transformers.BertConfig, state_dict: dict[str, torch.Tensor], tokenizer_dir: Path, out_dir: Path
) -> None:
    """Save config, safetensors weights and tokenizer files so that AutoModel/AutoTokenizer load `out_dir`."""
    tokenizer_dir, out_dir = Path(tokenizer_dir), Path(out_dir)
    files = [tokenizer_dir / name for name in TOKENIZER_FILES if (tokenizer_dir / name).is_file()]
    if not any(f.name in ("vocab.txt", "tokenizer.json") for f in files):
        raise UserError(f"{tokenizer_dir}: no vocab.txt or tokenizer.json")
    state = dict(state_dict)
    if "pooler.dense.weight" not in state:
        # AutoModel builds BertModel with a pooler; an export without one (sentence-transformers pools
        # itself) gets a zero pooler, so loading reports no missing keys and pooler_output is visibly 0
        # rather than plausible noise from a random init.
        state["pooler.dense.weight"] = torch.zeros(config.hidden_size, config.hidden_size)
        state["pooler.dense.bias"] = torch.zeros(config.hidden_size)
    model = transformers.BertModel(config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise UserError(
            f"state dict does not fit BertModel({config.num_hidden_layers} layers): {err}"
        ) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    # save_pretrained writes the weights through a private temp file (mode 0600); give them the mode that
    # config.json got from the umask, so a cache shared between users stays readable.
    mode = (out_dir / "config.json").stat().st_mode & 0o777
    for weights in out_dir.glob("*.safetensors"):
        weights.chmod(mode)
    for source in files:
        shutil.copyfile(source, out_dir / source.name)
    tokenizer = transformers.AutoTokenizer.from_pretrained(out_dir, local_files_only=True)
    if len(tokenizer) > config.vocab_size:
        raise UserError(
            f"{tokenizer_dir}: tokenizer has {len(tokenizer)} tokens but the model only {config.vocab_size} rows"
        )


def load_bert_dir(model_dir: Path) -> tuple[transformers.PreTrainedTokenizerBase, transformers.BertModel]:
    """Load a directory written by `write_bert_dir` (tokenizer, eval-mode model), insisting on an exact fit."""
    model_dir = Path(model_dir)
    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model, info = transformers.AutoModel.from_pretrained(
        model_dir, local_files_only=True, output_loading_info=True
    )
    problems = {kind: keys for kind, keys in info.items() if kind != "error_msgs" and keys}
    if problems or info.get("error_msgs"):
        raise UserError(f"{model_dir}: weights do not load cleanly: {problems or info['error_msgs']}")
    return tokenizer, model.eval()


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def _pools_with_tanh(graph: _Graph, output: str) -> bool:
    # A (batch, hidden) output is a BERT pooler if a Tanh sits between it and the last LayerNorm.
    seen, queue = {output}, deque([output])
    while queue:
        node = graph.producer.get(queue.popleft())
        if node is None or node.op_type == "LayerNormalization":
            continue
        if node.op_type == "Tanh":
            return True
        for parent in node.input:
            if parent and parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return False


def output_diffs(onnx_path: Path, model_dir: Path, sentences: list[str]) -> dict[str, float]:
    """Max abs difference per comparable ONNX output between onnxruntime and the converted BertModel."""
    import onnxruntime  # deferred: importing it costs ~0.3 s that only the verification step needs

    onnx_path = Path(onnx_path)
    if not sentences:
        raise UserError("no sentences to compare on")
    tokenizer, model = load_bert_dir(model_dir)
    limit = min(tokenizer.model_max_length, model.config.max_position_embeddings)
    batch = tokenizer(list(sentences), padding=True, truncation=True, max_length=limit, return_tensors="np")
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    feeds = {}
    for declared in session.get_inputs():
        if declared.name not in ("input_ids", "attention_mask", "token_type_ids"):
            raise UserError(f"{onnx_path}: unsupported graph input {declared.name!r}")
        dtype = np.int32 if declared.type == "tensor(int32)" else np.int64
        source = batch.get(declared.name)
        feeds[declared.name] = (np.zeros_like(batch["input_ids"]) if source is None else source).astype(dtype)
    outputs = session.run(None, feeds)

    token_types = batch.get("token_type_ids", np.zeros_like(batch["input_ids"]))
    tensors = {
        name: torch.from_numpy(batch[name].astype(np.int64)) for name in ("input_ids", "attention_mask")
    }
    tensors["token_type_ids"] = torch.from_numpy(token_types.astype(np.int64))
    with torch.inference_mode():
        result = model(**tensors)
    mask = tensors["attention_mask"].bool()
    tokens = result.last_hidden_state.double()
    sentence = _mean_pool(tokens, tensors["attention_mask"])
    shape = tuple(tokens.shape)
    graph: _Graph | None = None  # parsed only if a (batch, hidden) output needs telling apart
    diffs = {}
    for declared, value in zip(session.get_outputs(), outputs, strict=True):
        if not np.issubdtype(value.dtype, np.floating):
            continue  # sentence-transformers exports echo input_ids / attention_mask as outputs
        value = torch.from_numpy(value.astype(np.float64))
        if tuple(value.shape) == shape:  # token embeddings: padding positions are undefined, skip them
            diffs[declared.name] = float((value - tokens).abs()[mask].max())
        elif tuple(value.shape) == (shape[0], shape[2]):
            graph = graph or _Graph(onnx_path, onnx.load(str(onnx_path), load_external_data=False))
            pooled = result.pooler_output.double() if _pools_with_tanh(graph, declared.name) else sentence
            diffs[declared.name] = float((value - pooled).abs().max())
    if not diffs:
        raise UserError(f"{onnx_path}: no output shaped like token or sentence embeddings {shape}")
    return diffs


def max_abs_diff_vs_onnxruntime(onnx_path: Path, model_dir: Path, sentences: list[str]) -> float:
    """Max abs difference between onnxruntime on the ONNX file and the converted BertModel, same batch."""
    return max(output_diffs(onnx_path, model_dir, sentences).values())


def convert_minilm_onnx(
    onnx_path: Path,
    tokenizer_dir: Path,
    out_dir: Path,
    sentences: Iterable[str] = DEFAULT_SENTENCES,
    tolerance: float = 1e-4,
) -> float:
    """Convert an ONNX BERT encoder into `out_dir`, verify it against onnxruntime, return the max abs diff."""
    config, state = bert_from_onnx(Path(onnx_path))
    write_bert_dir(config, state, Path(tokenizer_dir), Path(out_dir))
    diff = max_abs_diff_vs_onnxruntime(Path(onnx_path), Path(out_dir), list(sentences))
    if not diff < tolerance:  # also catches NaN
        raise UserError(
            f"{onnx_path}: converted model differs from onnxruntime by {diff:.3g} (tolerance {tolerance:g})"
        )
    return diff
