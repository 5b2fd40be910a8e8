"""`torch-compile`: the eager backend with the encoder wrapped in `torch.compile(dynamic=True)`.

Compilation happens on the first `forward` (and again for the few shapes dynamo specialises, e.g. batch 1),
so it is cold-start cost that the timing loop's warm-up absorbs. While prepared, a recompile-limit hit raises
instead of silently falling back to eager, so a timing can never be an eager one under this backend's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.backends.base import Backend, Target
from bench.backends.torch_eager import DEVICE_DTYPES, TorchPrepared
from daft.core.errors import UserError

if TYPE_CHECKING:
    from torch import Tensor, nn

    from daft.models.encoders import Encoder

_MAX_REASON = 300


def _embed_module(encoder: Encoder) -> nn.Module:
    """The encoder's `embed` as a module's `forward`, which is what `torch.compile` wraps best (the class is
    made here so that the registry reads this module without importing torch; every instance's `forward`
    is still one code object, which is what dynamo caches by)."""
    from torch import nn

    class Embed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, **features: Tensor) -> Tensor:
            return self.encoder.embed(**features)

    return Embed()


def _compile_errors() -> tuple[type[BaseException], ...]:
    """Exception types that mean "compilation failed" (looked up by name: they moved between releases)."""
    import torch._dynamo.exc as dynamo_exc

    names = [(dynamo_exc, "TorchDynamoException"), (dynamo_exc, "FailOnRecompileLimitHit")]
    try:
        import torch._inductor.exc as inductor_exc

        names.append((inductor_exc, "CppCompileError"))
    except ImportError:
        pass
    return tuple(getattr(module, name) for module, name in names if hasattr(module, name))


def _reason(err: BaseException) -> str:
    """The first lines of an exception, shortened: compiler logs run to hundreds of lines."""
    # The first line is often only "backend='inductor' raised:"; the cause is on the next ones.
    lines = [line.strip() for line in str(err).splitlines() if line.strip()][:3]
    text = f"{type(err).__name__}: {' | '.join(lines)}".rstrip(": ")
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


class CompiledPrepared(TorchPrepared):
    """TorchPrepared whose `embed_fn` is the compiled encoder; compile failures become UserErrors."""

    def __init__(self, encoder: Encoder, target: Target, *, mode: str = "default", dynamic: bool = True):
        try:
            from torch._dynamo.eval_frame import check_if_dynamo_supported

            check_if_dynamo_supported()
        except (ImportError, RuntimeError) as err:
            raise UserError(
                f"{target.backend}: torch.compile is not supported here ({_reason(err)})"
            ) from None
        import torch

        super().__init__(encoder, target, backend=target.backend)
        self._errors = _compile_errors()
        config: Any = torch._dynamo.config
        self._previous_fail = getattr(config, "fail_on_recompile_limit_hit", None)
        if self._previous_fail is not None:
            config.fail_on_recompile_limit_hit = True
        self.embed_fn = torch.compile(_embed_module(self.encoder), dynamic=dynamic, mode=mode)
        self.info |= {"compile": {"dynamic": dynamic, "mode": mode, "backend": "inductor"}}

    def forward(self, inputs: dict[str, Tensor]) -> Tensor:
        """Queue the compiled call (compiling first when this shape class is new)."""
        try:
            return super().forward(inputs)
        except self._errors as err:
            raise UserError(
                f"{self.target.backend}: compilation failed on this platform ({_reason(err)})"
            ) from None

    def close(self) -> None:
        """Eager close, plus dropping dynamo's caches so that the next prepare starts from a clean limit."""
        import torch

        super().close()
        if self._previous_fail is not None:
            torch._dynamo.config.fail_on_recompile_limit_hit = self._previous_fail
        # Compiled code is cached per code object (shared by every Embed), and each prepare's guards
        # count towards one recompile limit; resetting keeps a long sweep from running into it.
        torch._dynamo.reset()


def prepare(encoder: Encoder, target: Target, *, workdir: Path) -> CompiledPrepared:
    """The encoder compiled with `torch.compile(dynamic=True)`; compiles lazily on the first forward."""
    return CompiledPrepared(encoder, target)


BACKENDS = (
    Backend(
        "torch-compile",
        "torch.compile(dynamic=True) of the eager model; the first calls compile",
        prepare,
        DEVICE_DTYPES,
    ),
)
