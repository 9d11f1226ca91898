"""InterHandGen's vocabulary, defined once for the rules, the commands and the report (no torch here).

A *model* is a network the pipeline trains; a *variant* is a row of the paper's table: a
model sampled with some guidance switched on or off. `gt` is the reference row (training
pairs against the test split), not a variant.
"""

from __future__ import annotations

from dataclasses import dataclass

MODELS = ("cascade", "joint")


@dataclass(frozen=True)
class Variant:
    name: str
    model: str  # the trained network it samples from
    label: str  # its row label in the table
    cfg: bool  # classifier-free guidance on the placement dims
    apg: bool  # anti-penetration guidance


VARIANTS = {
    v.name: v
    for v in (
        Variant("joint", "joint", "Ours w/o Decomposition (one network over both hands)", cfg=False, apg=False),
        Variant("no_cfg", "cascade", "Ours w/o CFG", cfg=False, apg=True),
        Variant("no_apg", "cascade", "Ours w/o APG", cfg=True, apg=False),
        Variant("full", "cascade", "Ours (InterHandGen)", cfg=True, apg=True),
    )
}
REFERENCE = "gt"
REFERENCE_LABEL = "Ground truth (test vs. train; the floor)"

METRICS_JSON = "results/interhandgen_metrics.json"
TARGETS = (
    METRICS_JSON,
    "results/tables/interhandgen_table.md",
    "results/tables/interhandgen_table.html",
    "results/figures/interhandgen_samples.png",
    "results/figures/interhandgen_apg_sweep.png",
)
