"""DIGIT's vocabulary, defined once for the rules, the commands and the report (no torch here).

A *model* is a network the pipeline trains; a *variant* is a row of the table. In DIGIT
each variant evaluates the model of the same name: DIGIT itself (`seg`) and the ablation
without the segmentation branch (`noseg`). `mean_pose` is the reference row, the trivial
baseline a model must beat to have learned anything, not a variant; `mediapipe` is an
off-the-shelf hand landmarker on the same crops (2D only), the row a network no one here
trained fills.
"""

from __future__ import annotations

from dataclasses import dataclass

from handflow.provenance import GLOBAL


@dataclass(frozen=True)
class Variant:
    name: str
    model: str  # the trained network it evaluates
    label: str  # its row label in the table
    use_segmentation: bool


VARIANTS = {
    v.name: v
    for v in (
        Variant("seg", "seg", "DIGIT", use_segmentation=True),
        Variant("noseg", "noseg", "DIGIT w/o segmentation (ablation)", use_segmentation=False),
    )
}
MODELS = tuple(v.model for v in VARIANTS.values())
REFERENCE = "mean_pose"
REFERENCE_LABEL = "Mean pose of the training set at the true wrists (trivial baseline)"
# a hand landmarker no one here trained, on the same test crops (2D only): handflow.judges.hands
OFF_THE_SHELF = "mediapipe"
OFF_THE_SHELF_LABEL = "MediaPipe Hands, off the shelf (2D only; not trained here)"
SEGMENTATION = {v.model: v.use_segmentation for v in VARIANTS.values()}
FIGURE_MODEL = "seg"  # the model whose predictions the report's figure shows
SPLITS = ("train", "val", "test")

METRICS_JSON = "results/digit_metrics.json"
TARGETS = (METRICS_JSON, "results/tables/digit_table.md", "results/tables/digit_table.html", "results/figures/digit_predictions.png")
# What every results file of the paper records: the InterHand2.6M source, scale, seed, hand model.
PROVENANCE = GLOBAL
