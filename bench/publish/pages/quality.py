"""A suite's quality page: the latest run's systems x measures with significance marks, its paired tests,
the hybrid systems' alpha curves, and each measure across the runs."""

from __future__ import annotations

from collections.abc import Sequence

from bench.publish import figures
from bench.publish.context import Context
from bench.publish.html import Td, esc, link, table
from bench.publish.inputs import Source, SuiteRuns
from bench.publish.machine import commit
from bench.results import RetrievalResult

KIND = "quality"
ONE_RUN = "One run so far: the trends start with the next saved report."


def applies(suite: SuiteRuns) -> bool:
    """Whether any run measured retrieval quality."""
    return any(run.report.retrieval for run in suite.runs)


def _against_bm25(r: RetrievalResult, system: str, measure: str) -> str:
    """ "*" (and the direction) where the system differs significantly from BM25 (Holm-corrected)."""
    for c in r.comparisons:
        if c.system_a == system and c.system_b == "bm25" and c.measure == measure and c.significant:
            return " *▲" if c.delta > 0 else " *▼"
    return ""


def systems_table(r: RetrievalResult) -> str:
    """One row per system, one column per measure."""
    rows = []
    for s in r.systems:
        params = ", ".join(f"{k}={v}" for k, v in s.params.shown().items())
        row: list[Td | str] = [s.id, params]
        for measure in r.measures:
            value = s.aggregate.get(measure)
            text = "-" if value is None else f"{value:.4f}{_against_bm25(r, s.id, measure)}"
            row.append(Td(text, sort=value))
        rows.append(row)
    caption = "* significantly different from bm25 (Holm-corrected, the suite's level); ▲ better, ▼ worse"
    return table(["system", "parameters", *r.measures], rows, caption=caption, table_id="quality-latest")


def comparisons_table(r: RetrievalResult) -> str:
    """The paired tests on the primary measure."""
    measure = r.primary
    rows = []
    for c in (c for c in r.comparisons if c.measure == measure):
        verdict = ("better" if c.delta > 0 else "worse") if c.significant else ""
        rows.append(
            [
                c.system_a,
                c.system_b,
                Td(f"{c.delta:+.4f}", sort=c.delta),
                f"{c.wins}/{c.ties}/{c.losses}",
                Td(f"{c.p_t_test:.2g}", sort=c.p_t_test),
                Td(f"{c.p_permutation:.2g}", sort=c.p_permutation),
                Td(f"{c.p_adjusted:.2g}", sort=c.p_adjusted),
                Td(verdict, cls={"better": "improvement", "worse": "regression"}.get(verdict, "")),
            ]
        )
    headers = ["system", "vs", "delta", "win/tie/loss", "p (t-test)", "p (perm.)", "p (Holm)", ""]
    return table(headers, rows, caption=f"paired tests on {measure}", table_id="quality-tests")


def alpha_chart(source: Source) -> str:
    """Each hybrid system's primary measure against alpha on the tuning split, the chosen alpha marked."""
    r = source.report.retrieval
    assert r is not None
    measure = r.primary
    fig = figures.figure(x_title="alpha (the weight of BM25)", y_title=measure)
    i = 0
    for system in r.systems:
        for curve in system.alpha_curves(measure):
            name = system.id if curve.fold is None else f"{system.id} fold {curve.fold}"
            fig.add_scatter(
                x=[a for a, _ in curve.points], y=[v for _, v in curve.points], mode="lines+markers", name=name,
                line=figures.line(i), customdata=[[source.link, name]] * len(curve.points),
                hovertemplate="%{customdata[1]}<br>alpha %{x}: %{y:.4f}<extra></extra>",
            )  # fmt: skip
            chosen = [(a, v) for a, v in curve.points if a == curve.chosen]
            fig.add_scatter(
                x=[a for a, _ in chosen], y=[v for _, v in chosen], mode="markers", showlegend=False,
                marker={"symbol": "star", "size": 14, "color": figures.colour(i)},
                customdata=[[source.link, name]] * len(chosen),
                hovertemplate="%{customdata[1]}<br>chosen alpha %{x}: %{y:.4f}<extra></extra>",
            )  # fmt: skip
            i += 1
    return figures.chart(
        fig, "alpha", f"hybrid alpha, {r.tuning or 'tuned'}", sources=[source.link], note="★ the alpha chosen"
    )


def measure_chart(runs: Sequence[Source], measure: str, index: int) -> str:
    """One measure of every system across the runs that have it."""
    fig = figures.figure(x_title="", y_title=measure)
    systems: dict[str, list[tuple[Source, float]]] = {}
    for run in runs:
        for s in run.report.retrieval.systems if run.report.retrieval else ():
            if (value := s.aggregate.get(measure)) is not None:
                systems.setdefault(s.id, []).append((run, value))
    for i, (system, points) in enumerate(systems.items()):
        fig.add_scatter(
            x=[run.started.isoformat() for run, _ in points], y=[v for _, v in points], mode="lines+markers",
            name=system, line=figures.line(i),
            customdata=[[run.link, commit(run.report.environment), f"{run.started:%Y-%m-%d %H:%M}"]
                        for run, _ in points],
            hovertemplate=f"<b>{esc(system)}</b><br>{esc(measure)} %{{y:.4f}}<br>"
            "%{customdata[2]} UTC · commit %{customdata[1]}<extra></extra>",
        )  # fmt: skip
    sources = sorted({run.link for points in systems.values() for run, _ in points})
    return figures.chart(fig, f"measure-{index}", measure, sources=sources)


def body(context: Context) -> str:
    """The page's content."""
    runs = [run for run in context.suite.runs if run.report.retrieval]
    latest = runs[-1]
    r = latest.report.retrieval
    assert r is not None
    title = f"{r.collection}:{r.split}, {r.queries} queries" + (f"; hybrid {r.tuning}" if r.tuning else "")
    parts = [
        f"<h2>Latest run: {link(latest.link, latest.started.strftime('%Y-%m-%d %H:%M UTC'))}, "
        f"commit {esc(commit(latest.report.environment))}</h2>",
        f"<p>{esc(title)}</p>",
        systems_table(r),
        comparisons_table(r),
    ]
    if any(s.alpha_curves(r.primary) for s in r.systems):
        parts.append(alpha_chart(latest))
    parts.append(f"<h2>Each measure over {len(runs)} run{'s' * (len(runs) != 1)}</h2>")
    if len(runs) < 2:
        parts.append(f'<p class="note">{ONE_RUN}</p>')
    else:
        measures = dict.fromkeys(
            m for run in runs if run.report.retrieval for m in run.report.retrieval.measures
        )
        parts += [measure_chart(runs, measure, i) for i, measure in enumerate(measures)]
    return "\n".join(parts)
