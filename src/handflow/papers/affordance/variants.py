"""Affordance Diffusion's vocabulary, defined once for the rules, the commands and the report (no torch here).

A *model* is a network the pipeline trains; a *variant* is a row of the table: which
layout (a LayoutNet, the training set's mean layout, or none) goes to which ContentNet.
`gt` (the real HOI crops: the floor) and `copy` (the object image returned unchanged: the
trivial baseline that adds no hand) are reference rows with nothing sampled.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    layout: str | None  # "layout", "layout_nomask" (trained LayoutNets), "mean" (the training mean), None (empty layout)
    content: str  # the ContentNet model


VARIANTS = {
    v.name: v
    for v in (
        Variant("full", "LayoutNet + ContentNet (ours, full)", "layout", "content"),
        Variant("nomask", "LayoutNet w/o mask loss + ContentNet", "layout_nomask", "content"),
        Variant("mean_layout", "Mean training layout + ContentNet (trivial layout)", "mean", "content"),
        Variant("nolayout", "ContentNet w/o layout (no-layout baseline)", None, "content_nolayout"),
    )
}
REFERENCES = {"gt": "Ground-truth HOI crops (floor)", "copy": "Object image unchanged (trivial: no hand)"}
ROWS = (*VARIANTS, *REFERENCES)
LAYOUT_MODELS = {"layout": 0.1, "layout_nomask": 0.0}  # LayoutNet -> its mask-loss weight (the seed: 0.1)
CONTENT_MODELS = {"content": True, "content_nolayout": False}  # ContentNet -> uses the layout channel
MODELS = (*LAYOUT_MODELS, *CONTENT_MODELS, "upsampler", "evaluator", "handpose")
SPLITS = ("train", "test")
# What every affordance results file records: the HOI4D source (not InterHand's global.data_source), scale, seed, hand model.
PROVENANCE_KEYS = ("affordance.data.source", "global.scale", "global.seed", "global.hand_model")
SOURCE_KEYS = ("affordance.data.source", "affordance.data.hoi4d_root")

EMBEDDED_ROOT = "data/raw/embedded/HOI4D"
METRICS_JSON = "results/affordance_metrics.json"
TARGETS = (
    METRICS_JSON,
    "results/tables/affordance_table.md",
    "results/tables/affordance_table.html",
    "results/figures/affordance_grid.png",
    "results/figures/affordance_interpolation.gif",
    "results/figures/affordance_hijack.png",
    "results/affordance/inference",
)


def source_root(source: str, hoi4d_root: str | None) -> str:
    """The HOI4D tree the pair stages read: the embedded one or the user's copy."""
    return EMBEDDED_ROOT if source == "embedded" else str(hoi4d_root)
