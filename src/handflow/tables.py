"""One results-table builder for every paper: our rows, the paper's reported values, and its claims judged against noise.

A paper's report builds a `ResultsTable` and writes it three ways: the metrics JSON
(`results/<paper>_metrics.json`, what `dvc metrics` reads), the Markdown table
(`results/tables/<paper>_table.md`) and the same table as an HTML page for Snakemake's
report. All three come from the same object, so they cannot disagree.

- A **row** is one of our methods (or a reference such as the ground-truth floor): an
  `Estimate` per column, the mean with its spread over repeats or a bootstrap, and the
  paper's reported values for the row it stands for, each with its source.
- A **reported-only row** is one of the paper's methods we do not run; it is shown, never
  compared with.
- A **claim** says that one row beats another on one column. It *holds* only when the
  gain exceeds its noise, `factor` (2) times the combined standard error of the two means;
  a loss beyond the noise *contradicts* it; anything else is *not shown at this scale*,
  and so is a claim whose rows carry no spread (one run, nothing to judge noise by), and a
  claim whose prerequisites do not hold (a comparison of two models is no evidence while
  either has not beaten the trivial baseline).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handflow.storage.atomic import atomic_write_text
from handflow.storage.json_files import write_json

HOLDS, NOT_SHOWN, CONTRADICTED = "holds", "not shown at this scale", "contradicted"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    better: str | None  # "lower", "higher", or None (a count, not a score)
    unit: str = ""
    digits: int = 3

    def header(self) -> str:
        arrow = {"lower": " ↓", "higher": " ↑"}.get(self.better or "", "")
        return f"{self.label}{f' ({self.unit})' if self.unit else ''}{arrow}"


@dataclass(frozen=True)
class Estimate:
    """A mean with its standard error over `n` repeats (or a bootstrap); `std` the spread of single repeats."""

    mean: float
    se: float | None = None
    n: int = 1
    std: float | None = None

    @staticmethod
    def of(values: Sequence[float]) -> Estimate:
        """From repeated measurements: sample std (ddof 1) and s.e.m.; one value has no spread."""
        vals = [float(v) for v in values]
        n, mean = len(vals), sum(vals) / len(vals)
        if n < 2:
            return Estimate(mean, None, n, None)
        std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1))
        return Estimate(mean, std / math.sqrt(n), n, std)

    def to_dict(self) -> dict[str, Any] | None:
        """JSON values; None when there is no value (e.g. an MPJPE of a bucket with no frame), never a NaN."""
        if not math.isfinite(self.mean):
            return None
        return {"mean": self.mean, "se": self.se, "n": self.n, "std": self.std}

    def text(self, digits: int) -> str:
        if not math.isfinite(self.mean):
            return "n/a"
        return f"{self.mean:.{digits}f}" + (f" ± {self.se:.{digits}f}" if self.se is not None else "")


@dataclass(frozen=True)
class Reported:
    """Numbers from the paper (or its authors' released results), with where exactly they come from."""

    values: dict[str, float]
    source: str  # e.g. "paper Table 1a, row Ours"
    label: str | None = None  # for a reported-only row: the paper's name of the method


@dataclass
class Row:
    key: str
    label: str
    values: dict[str, Estimate | None]
    reported: list[Reported] = field(default_factory=list)


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    metric: str
    better: str  # the row that should be better...
    than: str  # ...than this one
    factor: float = 2.0
    requires: tuple[str, ...] = ()  # claims that must hold first (e.g. both models beat the trivial baseline)


def judge(claim: Claim, rows: dict[str, Row], columns: dict[str, Column]) -> dict[str, Any]:
    """The claim's verdict and its evidence (see the module docstring)."""
    direction = columns[claim.metric].better
    a, b = rows[claim.better].values.get(claim.metric), rows[claim.than].values.get(claim.metric)
    out: dict[str, Any] = {"text": claim.text, "metric": claim.metric, "better": claim.better, "than": claim.than}
    if a is None or b is None or not (math.isfinite(a.mean) and math.isfinite(b.mean)):
        return {**out, "gain": None, "noise": None, "verdict": NOT_SHOWN, "evidence": "no value to compare"}
    gain = (b.mean - a.mean) if direction == "lower" else (a.mean - b.mean)
    noise = claim.factor * math.hypot(a.se, b.se) if a.se is not None and b.se is not None else None
    if noise is None:
        verdict, why = NOT_SHOWN, "no spread to judge the noise by (one run)"
    else:
        verdict = HOLDS if gain > noise else CONTRADICTED if gain < -noise else NOT_SHOWN
        why = f"noise {claim.factor:g} × combined s.e. = {noise:.4g}"
    d = columns[claim.metric].digits
    evidence = (
        f"{columns[claim.metric].label}: {rows[claim.better].label} {a.text(d)} vs {rows[claim.than].label} {b.text(d)}; "
        f"gain {gain:.4g} ({direction} is better), {why}"
    )
    return {**out, "gain": gain, "noise": noise, "verdict": verdict, "evidence": evidence}


@dataclass
class ResultsTable:
    paper: str
    title: str
    provenance: dict[str, Any]  # data source, scale, seed, hand model, sizes
    columns: list[Column]
    rows: list[Row]
    uncertainty: str  # what "±" means in this table
    claims: list[Claim] = field(default_factory=list)
    reported_only: list[Reported] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # paper-specific blocks of the JSON (feature network, sweep)

    def judged(self) -> dict[str, dict[str, Any]]:
        """Each claim's verdict; one whose prerequisites do not hold is not shown, whatever its own numbers say."""
        rows, cols = {r.key: r for r in self.rows}, {c.key: c for c in self.columns}
        out: dict[str, dict[str, Any]] = {}
        for claim in self.claims:
            verdict = judge(claim, rows, cols)
            unmet = [r for r in claim.requires if out[r]["verdict"] != HOLDS]
            if unmet and verdict["verdict"] != NOT_SHOWN:
                verdict = {
                    **verdict,
                    "verdict": NOT_SHOWN,
                    "evidence": f"{verdict['evidence']}; but {', '.join(unmet)} does not hold, so this difference is not evidence",
                }
            out[claim.id] = verdict
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "paper": self.paper,
            **self.provenance,
            **self.extra,
            "uncertainty": self.uncertainty,
            "columns": {c.key: {"label": c.label, "better": c.better, "unit": c.unit} for c in self.columns},
            "rows": {
                r.key: {
                    "label": r.label,
                    "metrics": {c.key: (r.values[c.key].to_dict() if r.values.get(c.key) else None) for c in self.columns},
                    "reported": [{"source": rep.source, "values": rep.values} for rep in r.reported],
                }
                for r in self.rows
            },
            "reported_only": [{"label": rep.label, "source": rep.source, "values": rep.values} for rep in self.reported_only],
            "claims": self.judged(),
            "notes": self.notes,
        }

    def _cells(self, row: Row) -> list[str]:
        return [row.values[c.key].text(c.digits) if row.values.get(c.key) else "" for c in self.columns]

    def _reported_cells(self, rep: Reported) -> list[str]:
        return [f"{rep.values[c.key]:g}" if c.key in rep.values else "" for c in self.columns]

    def _lines(self) -> list[tuple[str, str, list[str]]]:
        """(kind, label, cells) in table order: each row, its reported values under it, then reported-only rows."""
        out = []
        for row in self.rows:
            out.append(("ours", row.label, self._cells(row)))
            out += [("reported", f"{row.label}, reported ({rep.source})", self._reported_cells(rep)) for rep in row.reported]
        out += [("reported", f"{rep.label}, reported ({rep.source})", self._reported_cells(rep)) for rep in self.reported_only]
        return out

    def _provenance_line(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.provenance.items())

    def to_markdown(self) -> str:
        lines = [
            f"# {self.title}",
            "",
            f"Made with: {self._provenance_line()}.",
            "",
            f"Ours: {self.uncertainty} *Italic rows*: the paper's reported values with their source, never ours.",
            "",
            "| Method | " + " | ".join(c.header() for c in self.columns) + " |",
            "|" + "---|" * (len(self.columns) + 1),
        ]
        for kind, label, cells in self._lines():
            if kind == "ours":
                lines.append(f"| {label} | " + " | ".join(cells) + " |")
            else:
                lines.append(f"| *{label}* | " + " | ".join(f"*{c}*" if c else "" for c in cells) + " |")
        lines += ["", "## Claims", ""]
        for claim in self.judged().values():
            mark = {HOLDS: "**holds**", CONTRADICTED: "**contradicted**"}.get(claim["verdict"], f"*{claim['verdict']}*")
            lines.append(f"- {mark}: {claim['text']}. {claim['evidence']}.")
        if self.notes:
            lines += ["", "## Notes", "", *(f"- {n}" for n in self.notes)]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        e = html.escape
        head = "".join(f"<th>{e(c.header())}</th>" for c in self.columns)
        body = []
        for kind, label, cells in self._lines():
            cls = ' class="reported"' if kind == "reported" else ""
            body.append(f"<tr{cls}><td>{e(label)}</td>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
        claims = "".join(f"<li><b>{e(c['verdict'])}</b>: {e(c['text'])}. {e(c['evidence'])}.</li>" for c in self.judged().values())
        notes = "".join(f"<li>{e(n)}</li>" for n in self.notes)
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{e(self.title)}</title><style>'
            "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.3em .6em;"
            "text-align:right}td:first-child,th:first-child{text-align:left}tr.reported td{font-style:italic;color:#555}</style></head>"
            f"<body><h1>{e(self.title)}</h1><p>Made with: {e(self._provenance_line())}.</p><p>Ours: {e(self.uncertainty)} "
            "Italic rows: the paper's reported values with their source, never ours.</p>"
            f"<table><thead><tr><th>Method</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"<h2>Claims</h2><ul>{claims}</ul>" + (f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "") + "</body></html>\n"
        )

    def write(self, json_path: Path, md_path: Path, html_path: Path) -> dict[str, Any]:
        data = self.to_json()
        for path in (json_path, md_path, html_path):
            path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(md_path, self.to_markdown())
        atomic_write_text(html_path, self.to_html())
        write_json(json_path, data)
        return data

    def flat_metrics(self) -> dict[str, float]:
        """`<row>.<column>` -> mean, for every value there is: what a report stage logs to its MLflow run."""
        return {
            f"{row.key}.{c.key}": est.mean
            for row in self.rows
            for c in self.columns
            if (est := row.values.get(c.key)) is not None and math.isfinite(est.mean)
        }
