"""`python -m bench compare BASELINE.json CANDIDATE.json`: the regression gate (exit 0 pass, 1 a regression or
a missing cell, 2 unusable input, 3 a bug)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from rich.markup import escape

from bench.specs import GateSpec
from daft.core.errors import UserError
from daft.core.progress import console, output_console
from daft.store.cache import atomic_write_text
from daft.store.destination import writable_file

stdout = output_console()
GATE = GateSpec()


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `compare`."""
    parser = commands.add_parser("compare", help="compare two reports; exit 1 on a regression")
    parser.add_argument(
        "baseline", type=Path, help="the reference report (e.g. results/baselines/<suite>.json)"
    )
    parser.add_argument("candidate", type=Path, help="the report to judge")
    parser.add_argument(
        "--fail-on", choices=("latency", "quality", "both"), default="both", help="what fails the gate (both)"
    )
    # The defaults shown are GateSpec's, the ones in force when the baseline suite has no [gate] table.
    parser.add_argument(
        "--threshold",
        type=_threshold,
        help=f"relative latency change that counts ({GATE.latency_threshold:g}, or the baseline's [gate])",
    )
    parser.add_argument(
        "--noise-floor-us",
        type=_threshold,
        help=f"absolute latency change below which nothing counts ({GATE.noise_floor_us:g}, or [gate])",
    )
    parser.add_argument(
        "--quality-threshold",
        type=_threshold,
        help=f"nDCG-style drop that counts ({GATE.quality_threshold:g}, or the baseline's [gate])",
    )
    parser.add_argument(
        "--cell-threshold",
        action="append",
        default=[],
        metavar="GLOB=VALUE",
        help="relative threshold for the cells whose id matches GLOB, e.g. 'L0/*=0.25'",
    )
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="judge a partial or skipped report on what it has: what the candidate lacks is listed, not failed",
    )
    parser.add_argument(
        "--allow-other-workload",
        action="store_true",
        help="compare reports whose suites measure different things (queries, max_length, collection, ...)",
    )
    parser.add_argument("--markdown", type=Path, help="write a Markdown summary (for a CI job summary)")
    parser.add_argument("--json", type=Path, help="write the JSON verdict")
    parser.set_defaults(func=run_from_args)


def _threshold(text: str) -> float:
    """A threshold from the command line: a finite number >= 0 (a NaN compares false and passes anything)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _cell_thresholds(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        pattern, _, value = item.rpartition("=")
        try:
            out[pattern] = _threshold(value)
        except argparse.ArgumentTypeError:
            pattern = ""
        if not pattern:
            raise UserError(f"--cell-threshold {item!r}: expected GLOB=NUMBER with a finite number >= 0")
    return out


def run_from_args(args: argparse.Namespace) -> int:
    """Load, compare, print, write; the exit code is the verdict."""
    from bench import schema
    from bench.compare import KINDS, check_complete, compare, override, workload_differences  # numpy, scipy
    from bench.report import comparison as render

    for path, flag in ((args.markdown, "--markdown"), (args.json, "--json")):
        if path is not None:
            writable_file(path, flag)
    base, cand = schema.load(args.baseline, per_query=True), schema.load(args.candidate, per_query=True)
    if not args.allow_partial:
        check_complete(base, "baseline", args.baseline)
        check_complete(cand, "candidate", args.candidate)
    if base.suite_name != cand.suite_name:
        stdout.print(f"note: comparing suite {cand.suite_name!r} with {base.suite_name!r}")
    if differences := workload_differences(base, cand):
        if not args.allow_other_workload:
            raise UserError(
                f"{args.candidate}: measured another workload than {args.baseline} "
                f"({'; '.join(differences)}); --allow-other-workload compares them anyway"
            )
        stdout.print(
            f"[bold yellow]WARNING: the runs measured different workloads:[/] {escape('; '.join(differences))}"
        )
    gate, sources = override(
        base.gate,
        latency_threshold=args.threshold,
        noise_floor_us=args.noise_floor_us,
        quality_threshold=args.quality_threshold,
        cells=_cell_thresholds(args.cell_threshold),
    )
    result = compare(base, cand, gate, sources=sources, allow_missing=args.allow_partial)
    fail_on = KINDS if args.fail_on == "both" else (args.fail_on,)
    if not result.judged(fail_on):
        raise UserError(
            f"{args.candidate}: --fail-on latency, but latency is not judged between two machines "
            f"({'; '.join(result.machine_differences[:3])}); gate on quality, or against a baseline made on "
            "this machine"
        )
    if result.latency:
        stdout.print(render.latency_table(result, fail_on))
    if result.quality:
        stdout.print(render.quality_table(result, fail_on))
    for line in render.summary_lines(result, fail_on):
        stdout.print(escape(line), highlight=False, soft_wrap=True)
    code = result.exit_code(fail_on)
    outputs = (
        (args.markdown, lambda: render.markdown(result, fail_on)),
        (args.json, lambda: schema.dumps(result.to_dict(fail_on))),
    )
    for path, text in outputs:
        if path is not None and not _written(path, text()):
            code = code or 2  # a regression stays exit 1; a pass whose verdict file is lost is not a pass
    return code


def _written(path: Path, text: str) -> bool:
    """Write one output of the verdict; a failure (checked before, so a race) is one line, not a crash."""
    try:
        atomic_write_text(path, text)
    except OSError as err:
        console.print(f"error: {path}: could not write ({err.strerror or err})", highlight=False)
        return False
    return True
