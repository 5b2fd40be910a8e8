"""The site's front page: the latest run of every suite (when, commit, machine, status), its verdict
against the baseline, its warnings, and the machines the reports came from."""

from __future__ import annotations

from collections.abc import Sequence

from bench.publish.context import Context
from bench.publish.html import Td, esc, link, table
from bench.publish.inputs import REPORTS, Inputs, Source
from bench.publish.machine import Machines, commit
from bench.report.noise import cell_warning_lines

TITLES = {"latency": "latency", "quality": "quality", "frontier": "frontier", "compare": "vs baseline"}


def _verdict(context: Context) -> str:
    judged = context.judged
    if judged is None:
        return '<span class="muted">no baseline</span>'
    if judged.comparison is None:
        return f'<span class="muted">{esc(judged.note)}</span>'
    failed = judged.comparison.exit_code()
    text = link(context.name("compare"), judged.note.removeprefix("verdict: "))
    return f'<span class="{"fail" if failed else "pass"}">{text}</span>'


def _warnings(context: Context) -> str:
    report = context.suite.latest.report
    lines = [*report.noise_warnings, *cell_warning_lines(report)]
    if not lines:
        return "<dd>none</dd>"
    return '<dd class="warn"><ul>' + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul></dd>"


def _file(source: Source) -> str:
    # The newest run of a suite may be an experiment's copy (a run under load kept beside its quiet twin):
    # the file it came from says which.
    return f'<span class="muted">{esc(source.link.removeprefix(REPORTS + "/"))}</span>'


def _card(context: Context, machines: Machines) -> str:
    suite, latest = context.suite, context.suite.latest
    report = latest.report
    status = report.status + (f" ({report.skip_reason})" if report.skip_reason else "")
    summaries = {label: text for label, _, text in machines.rows()}
    machine = context.machines[latest.link]
    on = len({context.machines[run.link] for run in suite.runs})
    pages = " · ".join(link(context.name(kind), TITLES[kind]) for kind in context.pages) or "none"
    return f"""<section class="card" id="suite-{esc(suite.name)}">
<h2>{esc(suite.name)}</h2>
<dl>
<dt>latest run</dt><dd>{link(latest.link, latest.started.strftime("%Y-%m-%d %H:%M UTC"))} {_file(latest)}</dd>
<dt>commit</dt><dd>{esc(commit(report.environment))}</dd>
<dt>machine</dt><dd>{esc(machine)}: {esc(summaries[machine])}</dd>
<dt>status</dt><dd>{esc(status)}</dd>
<dt>runs</dt><dd>{len(suite.runs)} on {on} machine{"s" * (on != 1)}</dd>
<dt>baseline</dt><dd>{_verdict(context)}</dd>
<dt>pages</dt><dd>{pages}</dd>
<dt>warnings</dt>{_warnings(context)}
</dl>
</section>"""


def body(contexts: Sequence[Context], inputs: Inputs, machines: Machines) -> str:
    """The page's content."""
    cards = "\n".join(_card(context, machines) for context in contexts)
    machine_table = table(
        ["machine", "fingerprint digest", "summary"],
        [[label, digest, Td(text, cls="wrap")] for label, digest, text in machines.rows()],
        caption="timings compare only within one machine (the same fingerprint digest)",
        table_id="machines",
    )
    notes = [f"{len(inputs.copied)} report files"]
    if inputs.not_reports:
        notes.append(f"{inputs.not_reports} JSON files that are not reports (other tools' tables) skipped")
    left_out = "".join(f"<li>{esc(w)}</li>" for w in inputs.warnings)
    return "\n".join(
        [
            f'<div class="cards">{cards}</div>',
            "<h2>Machines</h2>",
            machine_table,
            f'<p class="note">{esc("; ".join(notes))}.</p>',
            f'<details><summary>{len(inputs.warnings)} files left out</summary><ul class="note">{left_out}</ul></details>'
            if inputs.warnings
            else "",
        ]
    )
