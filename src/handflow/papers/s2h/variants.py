"""Semantics2Hands' vocabulary, defined once for the rules, the commands and the report (no torch here).

A *model* is a network the pipeline trains (`n_seeds` times, for the table's ±); a *row*
is a retargeting method of the table: the two networks, and the trivial baselines that
copy the source's local rotations or its bs-rotations onto the target hand.
"""

from __future__ import annotations

from handflow.provenance import GLOBAL

MODELS = {"asrn": "ASRN (ours: ASM in, per-domain residual decoders)", "dm": "DM baseline (joint distance matrix in)"}
BASELINES = {"copy_rotations": "Copy local rotations (trivial)", "copy_bs": "Copy bs-rotations (joint angles in each hand's axes)"}
ROWS = (*MODELS, *BASELINES)
FIGURE_MODEL = "asrn"  # the network whose retargeting the figure shows
# What every s2h results file records: the InterHand2.6M source its MANO side came from, scale, seed, hand model.
PROVENANCE = GLOBAL

TREE = "data/processed/s2h/mixhand"
PACKED = "data/processed/s2h/mixhand.h5"
METRICS_JSON = "results/s2h_metrics.json"
RETARGETED = "results/s2h/retargeted.bvh"  # the retarget command's rule (params s2h.retarget)
RETARGETED_GIF = "results/s2h/retargeted.gif"  # its source and retargeted hands side by side
TARGETS = (
    METRICS_JSON,
    "results/tables/s2h_table.md",
    "results/tables/s2h_table.html",
    "results/figures/s2h_retarget.gif",
    RETARGETED,
    RETARGETED_GIF,
)
