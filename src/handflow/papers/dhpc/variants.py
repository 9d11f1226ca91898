"""Diffusion-HPC's vocabulary, defined once for the rules, the commands and the report (no torch here).

*Models* are the networks the pipeline trains once; *fine-tunings* are the downstream
regressor's two trainings (`n_seeds` each); *image rows* and *pose rows* are the table's.
"""

from __future__ import annotations

MODELS = {"t2i": "text-to-image UNet (Stable Diffusion's role)", "depth": "depth-conditioned UNet (SD-2-depth's role)",
          "hmr": "body regressor (BEV/SPIN's role)", "mask": "person-mask network (Mask R-CNN's role)",
          "prior": "pose VAE (VPoser's role)", "features": "FID feature network (Inception's role)"}  # fmt: skip
FINETUNES = {"real_only": "fine-tuned on few-shot real", "real_synth": "fine-tuned on few-shot real + ours synthetic"}
IMAGE_ROWS = {"pixel_gaussian": "Per-pixel Gaussian (trivial)", "text_only": "Text-to-image only (SD's role)",
              "corrected": "Diffusion-HPC (pose-corrected)", "real": "Held-out renders (floor)"}  # fmt: skip
POSE_ROWS = {"mean_pose": "Mean pose (trivial)", "pretrained": "Regressor, no fine-tuning", **FINETUNES}
# What every dhpc results file records: scale, seed and the body model (anny, or the user's SMPL file) the renders pose.
PROVENANCE_KEYS = ("global.scale", "global.seed", "dhpc.body_model")

RENDERS = "data/processed/dhpc/renders.h5"
SAMPLES = "data/generated/dhpc/{row}.h5"
SYNTHETIC = "data/generated/dhpc/synthetic.h5"
METRICS_JSON = "results/dhpc_metrics.json"
TARGETS = (METRICS_JSON, "results/tables/dhpc_table.md", "results/tables/dhpc_table.html", "results/figures/dhpc_samples.png")
