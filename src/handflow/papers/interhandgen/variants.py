"""InterHandGen's vocabulary, defined once for the rules, the commands and the report (no torch here).

A *model* is a network the pipeline trains; a *variant* is a row of the paper's table: a
model sampled with some guidance switched on or off. `gt` is the reference row (training
pairs against the test split), not a variant.
"""

from __future__ import annotations

from dataclasses import dataclass

from handflow.provenance import GLOBAL


@dataclass(frozen=True)
class Model:
    name: str
    cascade: bool  # the anchor, then the second hand given it; False: both hands at once (the paper's w/o Decomposition)
    shared: bool = True  # one network for both roles of the cascade
    self_attention: bool = True  # the transformer over the time, condition and input tokens


MODELS = {
    m.name: m
    for m in (
        Model("cascade", cascade=True),
        Model("cascade_separate", cascade=True, shared=False),
        Model("cascade_noattn", cascade=True, self_attention=False),
        Model("joint", cascade=False),
    )
}


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
        Variant("no_shared", "cascade_separate", "Ours w/o Shared Network", cfg=True, apg=True),
        Variant("no_selfatt", "cascade_noattn", "Ours w/o SelfAtt", cfg=True, apg=True),
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
# What every results file of the paper records: the InterHand2.6M source, scale, seed, hand model.
PROVENANCE = GLOBAL
