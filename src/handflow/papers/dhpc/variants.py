"""Diffusion-HPC's vocabulary, defined once for the rules, the commands and the report (no torch here).

*Models* are the networks the pipeline trains once, each with the params sections its
training reads (its rule declares exactly those); *fine-tunings* are the downstream
regressor's two trainings (`n_seeds` each); *image rows* and *pose rows* are the table's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from handflow.provenance import Field, Provenance


@dataclass(frozen=True)
class Model:
    name: str
    label: str
    reads: tuple[str, ...]  # params sections its training reads

    @property
    def poses_bodies(self) -> bool:
        """Its loss poses the body model (`dhpc.body_model`), so it is built with the one params name."""
        return "dhpc.body_model" in self.reads


MODELS = {
    m.name: m
    for m in (
        Model("t2i", "text-to-image UNet (Stable Diffusion's role)", ("dhpc.t2i",)),
        Model("depth", "depth-conditioned UNet (SD-2-depth's role)", ("dhpc.t2i", "dhpc.depth.train")),
        Model("hmr", "body regressor (BEV/SPIN's role)", ("dhpc.hmr", "dhpc.body_model")),
        Model("mask", "person-mask network (Mask R-CNN's role)", ("dhpc.mask",)),
        Model("prior", "pose VAE (VPoser's role)", ("dhpc.prior",)),
    )
}
FINETUNES = {"real_only": "fine-tuned on few-shot real", "real_synth": "fine-tuned on few-shot real + ours synthetic"}
IMAGE_ROWS = {
    "pixel_gaussian": "Per-pixel Gaussian (trivial)",
    "text_only": "Text-to-image only (SD's role)",
    "corrected": "Diffusion-HPC (pose-corrected)",
    "real": "Held-out renders (floor)",
}
# Table 2, pose-conditioned generation (the seed's mpii_gen / smart_gen guidance flags), scored against held-out real frames
POSEGEN_ROWS = {
    "posegen_ours": "Pose-conditioned: real frame + text (ours)",
    "posegen_notext": "Pose-conditioned: real frame, no text (ours_notext)",
    "posegen_nor": "Pose-conditioned: text only, no real frame (ours_nor)",
}
POSEGEN_TRIVIAL = {
    "posegen_gaussian": "Pose-conditioned reference: per-pixel Gaussian (trivial)",
    "posegen_guides": "Pose-conditioned reference: the guide frames (floor)",
}
POSE_ROWS = {"mean_pose": "Mean pose (trivial)", "pretrained": "Regressor, no fine-tuning", **FINETUNES}
# What every dhpc results file and MLflow run records: the data is always rendered here, of anny or the user's SMPL model.
PROVENANCE = Provenance(
    (
        Field("data_source", fixed="embedded (rendered bodies)"),
        Field("scale", "global.scale"),
        Field("seed", "global.seed"),
        Field("body_model", "dhpc.body_model", show=lambda path: f"smpl ({Path(path).name})" if path else "anny"),
    )
)

RENDERS = "data/processed/dhpc/renders.h5"
REAL = "data/processed/dhpc/real.h5"  # the user's real frames (params dhpc.real), when given


def pose_row_models(row: str) -> list[str]:
    """The regressor(s) a pose row scores: none for the mean pose, the pretrained one, or a fine-tuning's folder of seeds."""
    return {"mean_pose": [], "pretrained": ["models/dhpc/hmr.pt"]}.get(row, [f"models/dhpc/finetune_{row}"])


SAMPLES = "data/generated/dhpc/{row}.h5"
SYNTHETIC = "data/generated/dhpc/synthetic.h5"
POSEGEN = "data/generated/dhpc/posegen.h5"
METRICS_JSON = "results/dhpc_metrics.json"
TARGETS = (METRICS_JSON, "results/tables/dhpc_table.md", "results/tables/dhpc_table.html", "results/figures/dhpc_samples.png")
