"""Stage 3: sample two-hand interactions, one variant (table row, see variants.py) per file.

Each variant repeats `n_repeats` times with its own seed; the HDF5 holds raw
parameters, vertices and joints of every sample and the repeat it belongs to. The
APG weight sweep samples through the same sampler (evaluate.apg_sweep).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from handflow.compute import CPU, Compute
from handflow.config import Section
from handflow.errors import ComputationError
from handflow.papers.interhandgen.apg import ApgConfig
from handflow.papers.interhandgen.diffusion import CascadeSampler, Guidance, JointSampler, ScheduleConfig
from handflow.papers.interhandgen.features import decode_pairs
from handflow.papers.interhandgen.networks import load_network
from handflow.papers.interhandgen.representation import DIM, Normalizer, TwoHandDecoder
from handflow.papers.interhandgen.variants import MODELS, Variant
from handflow.storage.atomic import atomic_path
from handflow.storage.hdf5_files import Field, check_version, open_hdf5, read_fields

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SampleConfig(Section):
    """params `interhandgen.sample`."""

    n_samples: int  # per evaluation repeat
    n_repeats: int  # independent sampling seeds; metrics are mean and spread over them
    batch_size: int
    cfg_weight: float  # classifier-free guidance on the placement dims (the seed's cf_scale)
    apg: ApgConfig


def guidance_for(variant: Variant, cfg: SampleConfig) -> Guidance:
    return Guidance(cfg.cfg_weight if variant.cfg else 0.0, cfg.apg if variant.apg else None)


def draw(sampler, n: int, batch: int, seed: int) -> np.ndarray:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, batch):
        anchor, add = sampler.sample(min(batch, n - start), gen)
        out.append(torch.stack([anchor, add], dim=1).cpu().numpy())
    return np.concatenate(out)


def trained_denoiser(path: Path, model: str) -> tuple[torch.nn.Module, Normalizer, ScheduleConfig]:
    """A denoiser's model file (which must hold `model`, variants.MODELS): the network, its normalisation and its schedule."""
    net, ckpt = load_network(path, model)
    normalizer = Normalizer(np.asarray(ckpt["normalizer"]["mean"]), np.asarray(ckpt["normalizer"]["std"]))
    return net, normalizer, ScheduleConfig.from_dict(ckpt["schedule"], path, "schedule")


def decoder_on(decoder: TwoHandDecoder, compute: Compute) -> TwoHandDecoder:
    """The decoder on `compute`'s device: itself when it is there, else a copy (the caller's stays where it is)."""
    return decoder if decoder.sealed_faces.device == compute.device else copy.deepcopy(decoder).to(compute.device)


def make_sampler(
    variant: Variant, model_path: Path, decoder: TwoHandDecoder, sampling_steps: int, guidance: Guidance, compute: Compute = CPU
):
    """The sampler of a variant on `compute` (the decoder must be on its device: `decoder_on`); `sampling_steps` may
    differ from the steps the model was trained with in mind."""
    model, normalizer, schedule = trained_denoiser(model_path, variant.model)
    schedule = dataclasses.replace(schedule, sampling_steps=sampling_steps)
    if not MODELS[variant.model].cascade:
        return JointSampler(model, normalizer, schedule, compute)
    return CascadeSampler(model, normalizer, decoder, schedule, guidance, compute=compute)


def sample_variant(
    variant: Variant,
    model_path: Path,
    decoder: TwoHandDecoder,
    cfg: SampleConfig,
    sampling_steps: int,
    seed: int,
    out: Path,
    provenance: dict[str, str],
    compute: Compute = CPU,
) -> dict[str, float]:
    """`n_repeats` sets of `n_samples`, each from its own seed, into one HDF5 (raw parameters, vertices, joints, repeat
    ids); sampled, guided and decoded on `compute`."""
    torch.manual_seed(seed)
    guidance = guidance_for(variant, cfg)
    decoder = decoder_on(decoder, compute)
    sampler = make_sampler(variant, model_path, decoder, sampling_steps, guidance, compute)
    pairs = np.concatenate([draw(sampler, cfg.n_samples, cfg.batch_size, seed + 1000 * r) for r in range(cfg.n_repeats)])
    bad = ~np.isfinite(pairs).all(axis=(1, 2))
    if bad.any():
        raise ComputationError(f"{variant.name}: {int(bad.sum())} of {len(pairs)} samples are not finite (first: {int(np.argmax(bad))})")
    verts, joints = decode_pairs(decoder, pairs)
    attrs = {
        **provenance,
        "variant": variant.name,
        "guidance": json.dumps(dataclasses.asdict(guidance) if MODELS[variant.model].cascade else {}),
    }
    write_samples(out, pairs, verts, joints, np.repeat(np.arange(cfg.n_repeats), cfg.n_samples), attrs)
    return {"n_samples": float(len(pairs))}


def write_samples(out: Path, pairs: np.ndarray, verts: np.ndarray, joints: np.ndarray, repeat: np.ndarray, attrs: dict) -> None:
    """Raw parameters (N, 2, 64), decoded vertices and joints, and each sample's repeat id, with `attrs`."""
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update(
            {
                **attrs,
                "schema_version": SCHEMA_VERSION,
                "vertices": "left (anchor) first, metres, anchor frame",
                "joints": "InterHand2.6M order",
            }
        )
        h5["params"] = pairs.astype(np.float32)
        h5["vertices"] = verts.astype(np.float32)
        h5["joints"] = joints.astype(np.float32)
        h5["repeat"] = repeat.astype(np.int32)


def read_samples(path: Path, n_vertices: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (N, V, 3), repeat ids (N,) and raw parameters (N, 2, 64), checked for shape and NaNs."""
    fields = {
        "params": Field(("N", 2, DIM), finite=True),
        "vertices": Field(("N", n_vertices, 3), finite=True),
        "repeat": Field(("N",), "iu"),
    }
    with open_hdf5(path) as h5:
        check_version(h5, path, SCHEMA_VERSION, "sample")
        data = read_fields(h5, path, fields)
    return data["vertices"].astype(np.float64), data["repeat"], data["params"]
