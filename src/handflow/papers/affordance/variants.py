"""Affordance Diffusion's vocabulary, defined once for the rules, the commands and the report (no torch here).

A *model* is a network the pipeline trains: its family (which network and trainer), the
file it trains on and the params sections it reads, so its rule declares exactly what its
command reads. A *row* of the table is a *variant* (sampled: which layout, a LayoutNet,
the training set's mean layout or none, goes to which ContentNet) or a reference: `gt`
(the real HOI crops: the floor) and `copy` (the object image returned unchanged: the
trivial baseline that adds no hand), with nothing sampled.
"""

from __future__ import annotations

from dataclasses import dataclass

from handflow.provenance import Field, Provenance


@dataclass(frozen=True)
class Model:
    name: str
    family: str  # layout | content | upsampler | handpose: its network class and trainer
    data: str  # the pairs file it trains on, under data/processed/affordance (without .h5)
    reads: tuple[str, ...]  # params sections under `affordance.` its training reads
    mask_loss: float = 0.0  # LayoutNet: the weight of its mask loss (the seed: 0.1; 0 is the ablation)
    use_layout: bool = True  # ContentNet: the keep-mask channel (False: all ones, the no-layout baseline)

    def params(self) -> tuple[str, ...]:
        return tuple(f"affordance.{r}" for r in self.reads)

    @property
    def needs_hand_model(self) -> bool:
        """The hand-pose network's labels pose the pairs' MANO parameters with the prepared hand model."""
        return self.family == "handpose"


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
_SIZE = "content.network.image_size"  # LayoutNet and the upsampler work at ContentNet's size
# what a ContentNet training reads (not `content.trainings`: how many there are does not change any one of them)
_CONTENT = ("content.network", "content.train", "content.vae", "content.jitter")
MODELS = {
    m.name: m
    for m in (
        Model("layout", "layout", "pairs_train", ("layout", _SIZE), mask_loss=0.1),
        Model("layout_nomask", "layout", "pairs_train", ("layout", _SIZE), mask_loss=0.0),
        Model("content", "content", "pairs_train", _CONTENT, use_layout=True),
        Model("content_nolayout", "content", "pairs_train", _CONTENT, use_layout=False),
        Model("upsampler", "upsampler", "pairs_train", ("upsampler", _SIZE)),
        Model("handpose", "handpose", "pairs_train", ("handpose",)),
    )
}
SPLITS = ("train", "test")
# What every affordance results file records: the HOI4D source (not InterHand's global.data_source), scale, seed, hand model.
PROVENANCE = Provenance(
    (
        Field("data_source", "affordance.data.source"),
        Field("scale", "global.scale"),
        Field("seed", "global.seed"),
        Field("hand_model", "global.hand_model"),
    )
)
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


def model_path(name: str) -> str:
    """Where a trained model lives: a ContentNet's trainings in a folder (`s<k>.pt`, `content.trainings` of them, so the
    DAG's shape does not depend on the count), every other model in one file."""
    return f"models/affordance/{name}" if MODELS[name].family == "content" else f"models/affordance/{name}.pt"


def sample_inputs(row: str) -> dict[str, str]:
    """The model files a variant samples from (its rule's inputs): its ContentNet's trainings, and its LayoutNet when it
    has one."""
    v = VARIANTS[row]
    files = {"content": model_path(v.content)}
    if v.layout in MODELS:
        files["layout"] = model_path(v.layout)
    return files


def source_root(source: str, hoi4d_root: str | None) -> str:
    """The HOI4D tree the pair stages read: the embedded one or the user's copy."""
    return EMBEDDED_ROOT if source == "embedded" else str(hoi4d_root)
