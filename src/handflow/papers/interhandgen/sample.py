"""Stage 3: sample two-hand interactions, one variant per table row, plus the APG weight sweep.

Variants: `full` (cascade + CFG + APG), `no_cfg`, `no_apg`, and `joint` (the
non-cascaded baseline, unguided). Each repeats `n_repeats` times with its own
seed; the HDF5 holds raw parameters, vertices and joints of every sample and the
repeat it belongs to.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np
import torch

from handflow.errors import ComputationError, InputError
from handflow.papers.interhandgen.apg import ApgConfig
from handflow.papers.interhandgen.diffusion import CascadeSampler, Guidance, JointSampler
from handflow.papers.interhandgen.features import decode_pairs
from handflow.papers.interhandgen.representation import DIM, TwoHandDecoder
from handflow.papers.interhandgen.train import load_denoiser
from handflow.storage.atomic import atomic_path

VARIANTS = ("full", "no_cfg", "no_apg", "joint")
SCHEMA_VERSION = 1


def guidance_for(variant: str, p: dict) -> Guidance:
    s = p["sample"]
    apg = ApgConfig(**s["apg"])
    return {
        "full": Guidance(s["cfg_weight"], apg),
        "no_cfg": Guidance(0.0, apg),
        "no_apg": Guidance(s["cfg_weight"], None),
    }[variant]


def draw(sampler, n: int, batch: int, seed: int) -> np.ndarray:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, batch):
        anchor, add = sampler.sample(min(batch, n - start), gen)
        out.append(torch.stack([anchor, add], dim=1).numpy())
    return np.concatenate(out)


def make_sampler(variant: str, model_path: Path, decoder: TwoHandDecoder, p: dict, guidance: Guidance | None = None):
    model, normalizer, schedule = load_denoiser(model_path, "joint" if variant == "joint" else "cascade")
    schedule = dataclasses.replace(schedule, sampling_steps=p["diffusion"]["sampling_steps"])
    if variant == "joint":
        return JointSampler(model, normalizer, schedule)
    return CascadeSampler(model, normalizer, decoder, schedule, guidance or guidance_for(variant, p))


def sample_variant(
    variant: str, model_path: Path, decoder: TwoHandDecoder, p: dict, seed: int, out: Path, provenance: dict[str, str]
) -> dict[str, float]:
    s = p["sample"]
    torch.manual_seed(seed)
    sampler = make_sampler(variant, model_path, decoder, p)
    pairs = np.concatenate([draw(sampler, s["n_samples"], s["batch_size"], seed + 1000 * r) for r in range(s["n_repeats"])])
    bad = ~np.isfinite(pairs).all(axis=(1, 2))
    if bad.any():
        raise ComputationError(f"{variant}: {int(bad.sum())} of {len(pairs)} samples are not finite (first: {int(np.argmax(bad))})")
    verts, joints = decode_pairs(decoder, pairs)
    guidance = {} if variant == "joint" else dataclasses.asdict(guidance_for(variant, p))
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update(
            {
                **provenance,
                "schema_version": SCHEMA_VERSION,
                "variant": variant,
                "guidance": json.dumps(guidance),
                "vertices": "left (anchor) first, metres, anchor frame",
                "joints": "InterHand2.6M order",
            }
        )
        h5["params"] = pairs.astype(np.float32)
        h5["vertices"] = verts.astype(np.float32)
        h5["joints"] = joints.astype(np.float32)
        h5["repeat"] = np.repeat(np.arange(s["n_repeats"]), s["n_samples"]).astype(np.int32)
    return {"n_samples": float(len(pairs))}


def read_samples(path: Path, n_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (N, V, 3) and repeat ids (N,), checked for shape and NaNs."""
    try:
        with h5py.File(path, "r") as h5:
            for key in ("params", "vertices", "repeat"):
                if key not in h5:
                    raise InputError(path, key, "missing")
            params, verts, repeat = h5["params"][...], h5["vertices"][...], h5["repeat"][...]
    except OSError as exc:
        raise InputError(path, None, f"not a readable HDF5 file: {exc}") from None
    n = len(params)
    for key, arr, shape in (("params", params, (n, 2, DIM)), ("vertices", verts, (n, n_vertices, 3)), ("repeat", repeat, (n,))):
        if arr.shape != shape:
            raise InputError(path, key, f"shape {arr.shape}, expected {shape}")
    for key, arr in (("params", params), ("vertices", verts)):
        if not np.isfinite(arr).all():
            raise InputError(path, key, f"contains NaN or inf (first bad sample {int(np.argmax(~np.isfinite(arr).reshape(n, -1).all(1)))})")
    return verts.astype(np.float64), repeat
