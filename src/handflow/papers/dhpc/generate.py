"""Text-to-image sampling, the seed's pose correction, and its synthetic dataset for fine-tuning.

Correction (`api.py::our_pipeline`, section B2): person mask of the initial image (no person:
the seed returns -1; here the image is dropped and counted), body from the HMR regressor, its
pose-prior score ||z||^2 (optionally keeping only scores >= `min_score`, the seed's "hard"
filter), depth rendered from the body as the seed's D' = (max + 50 - D) on the foreground,
min-max to [-1, 1], and regeneration by the depth-conditioned model: the region
m = person mask or depth foreground starts from fresh noise, the rest from the initial
image (`use_random_for_d2i`), noised to the first kept step of `strength` (0.7: 35 of 50
steps) and denoised with the same prompt. The seed does this in SD's latent space; here
the model works in pixels (see `networks`), so m is the mask itself, not its 64x64 pool.

The seed's demo (`api.py`): `generate` runs both on one prompt and writes a folder of images,
bodies, meshes and scores (`python -m handflow dhpc generate`).

Dataset generation (`generate_dataset.py`, section B3): each real few-shot frame guides k
samples: sample 0 the regressor's body, samples 1..k-1 the seed's SPIN pose augmentation
(z * (1.5 + 0.3 N), global orientation + 10 degrees N per axis, shape * (1 + 0.1 N)); each
body's depth regenerates the guide, and the body is the sample's label.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handflow.config import Section
from handflow.diffusion import to_tensor, to_uint8
from handflow.errors import ComputationError
from handflow.papers.dhpc.generators import SampleConfig, as_generator
from handflow.papers.dhpc.poses import caption
from handflow.papers.dhpc.posing import posed_keypoints, project, rotvec_of_6d
from handflow.papers.dhpc.render import depth_map, to_camera
from handflow.papers.dhpc.samples import read, write
from handflow.papers.dhpc.skeleton import BodyModel
from handflow.render.rasterize import rasterize
from handflow.storage.atomic import atomic_path


@dataclass(frozen=True)
class CorrectConfig(Section):
    """params `dhpc.correct`."""

    strength: float  # the seed's 0.7
    random_latent_in_mask: bool  # the seed's use_random_for_d2i
    min_person_fraction: float  # below this share of the image, the mask network found no person (the seed's -1)
    # keep only samples whose prior score reaches it (the seed's filter_by_vposer: 30 on a 32-d latent); None keeps all
    min_score: float | None


def prompts(actions: list[str], n: int, rng: np.random.Generator) -> list[str]:
    """n evaluation prompts: an action drawn from `actions`, its caption from the seed's templates."""
    return [caption(actions[rng.integers(len(actions))], rng) for _ in range(n)]


def sample_set(
    gen, actions: list[str], n: int, n_seeds: int, cfg: SampleConfig, seed: int, source: str, out: Path, provenance: dict
) -> dict[str, float]:
    """`n_seeds` draws of `n` prompts each, text to image, into one samples file (the seed of every image recorded, and
    what drew the images: the embedded network or the user's pipeline with its digest)."""
    gen = as_generator(gen)
    images, all_prompts, seeds = [], [], []
    for k in range(n_seeds):
        batch = prompts(actions, n, np.random.default_rng([seed, k]))
        images.append(to_uint8(gen.sample(batch, source, cfg, torch.Generator().manual_seed(seed * 1000 + k))))
        all_prompts += batch
        seeds += [k] * n
    attrs = {"provenance": provenance, "generator": gen.describe()}
    write(out, "samples", {"image": np.concatenate(images), "seed": np.array(seeds)}, all_prompts, attrs)
    return {"n_images": float(len(all_prompts))}


@dataclass
class Bodies:
    pose: torch.Tensor  # (B, N_POSED, 3) axis-angle
    shape: torch.Tensor  # (B, 6)
    trans: torch.Tensor  # (B, 3) mm


@torch.no_grad()
def person_masks(mask_net, images: torch.Tensor) -> torch.Tensor:
    device = next(mask_net.parameters()).device
    return torch.sigmoid(mask_net(images.to(device))).cpu()[:, 0] > 0.5


@torch.no_grad()
def regress(hmr, images: torch.Tensor) -> Bodies:
    device = next(hmr.parameters()).device
    six, shape, trans = hmr(images.to(device))
    return Bodies(rotvec_of_6d(six.cpu()).float(), shape.cpu().float(), trans.cpu().float())


def render_depth(body: BodyModel, bodies: Bodies, size: int, backend: str) -> tuple[np.ndarray, np.ndarray]:
    """(B, S, S) depth in mm (0 off the body) and keypoints (B, 14, 3: u, v, visible) of the bodies, as the data's camera sees them."""
    with torch.no_grad():
        verts = body(bodies.pose.double(), bodies.shape.double()).vertices
        kp = posed_keypoints(body, bodies.pose, bodies.shape, bodies.trans)
    focal = 1.2 * size
    depths = []
    for v, t in zip(verts.numpy(), bodies.trans.numpy(), strict=True):
        raster = rasterize(to_camera(v, t), body.faces, np.array([focal, focal]), np.full(2, size / 2.0), (size, size), backend)
        depths.append(np.where(raster.mask, raster.depth, 0.0).astype(np.float32))
    uv = project(kp, torch.full((len(kp),), focal), size).numpy()
    visible = ((uv >= 0) & (uv < size)).all(-1, keepdims=True)
    return np.stack(depths), np.concatenate([uv, visible], -1).astype(np.float32)


@dataclass
class Corrected:
    images: torch.Tensor  # (K, 3, S, S) the kept corrections
    kept: np.ndarray  # (K,) index of each into the input images
    no_person: np.ndarray  # indices without a person (the seed's -1)
    filtered: np.ndarray  # indices whose prior score was below min_score
    scores: np.ndarray  # (B,) prior score of every input (NaN without a person)
    depth: np.ndarray  # (K, S, S) the conditioning depth (mm)
    kp2d: np.ndarray  # (K, 14, 3) the rendered bodies' keypoints (u, v, in view): what the pose judge compares with
    bodies: Bodies  # (K) the regressed bodies whose depth conditioned the corrections


def correct(
    images: torch.Tensor,
    prompts: list[str],
    nets: dict,
    cfg: CorrectConfig,
    sample: SampleConfig,
    g: torch.Generator,
    backend: str,
    body: BodyModel,
    source: str = "prompts",
) -> Corrected:
    """Pose correction of text-to-image samples (see the module docstring); nets: mask, hmr, prior, depth (a network or
    a `generators` generator); `source` names the prompts' origin in an error."""
    size = images.shape[-1]
    masks = person_masks(nets["mask"], images)
    has_person = masks.flatten(1).float().mean(1).numpy() >= cfg.min_person_fraction
    bodies = regress(nets["hmr"], images)
    with torch.no_grad():
        scores = nets["prior"].score(bodies.pose[:, 1:].flatten(1), g).numpy()
    scores = np.where(has_person, scores, np.nan)
    keep = has_person & ((scores >= cfg.min_score) if cfg.min_score is not None else True)
    idx = np.flatnonzero(keep)
    if len(idx) == 0:
        raise ComputationError(
            f"pose correction: none of {len(images)} images has a person the mask network finds "
            f"(>= {cfg.min_person_fraction:.0%} of the image) and a prior score >= {cfg.min_score}"
        )
    sub = Bodies(bodies.pose[idx], bodies.shape[idx], bodies.trans[idx])
    depth_mm, kp2d = render_depth(body, sub, size, backend)
    depth = torch.as_tensor(np.stack([depth_map(d) for d in depth_mm]))[:, None]
    region = masks[idx] | torch.as_tensor(depth_mm > 0)
    kept = [prompts[i] for i in idx]
    out = as_generator(nets["depth"]).regenerate(
        images[idx], region, depth, kept, source, cfg.strength, cfg.random_latent_in_mask, sample, g
    )
    return Corrected(out, idx, np.flatnonzero(~has_person), np.flatnonzero(has_person & ~keep), scores, depth_mm, kp2d, sub)


def correct_set(
    samples: Path,
    nets: dict,
    cfg: CorrectConfig,
    sample: SampleConfig,
    seed: int,
    backend: str,
    body: BodyModel,
    out: Path,
    provenance: dict,
) -> dict[str, float]:
    """The seed's pose correction of every image of a samples file, into a samples file of the kept corrections.

    Its attributes say which inputs had no person (the seed's -1) and which the prior score
    filtered; `source` maps each correction to its input.
    """
    arrays, texts, drawn = read(samples, "samples", ("seed",))
    g = torch.Generator().manual_seed(seed)
    done = correct(to_tensor(arrays["image"]), texts, nets, cfg, sample, g, backend, body, f"{samples}:samples/caption")
    kept = {
        "image": to_uint8(done.images),
        "seed": arrays["seed"][done.kept],
        "source": done.kept,
        "depth": done.depth,
        "kp2d": done.kp2d,
        "score": done.scores[done.kept].astype(np.float32),
    }
    attrs = {
        "provenance": provenance,
        "generator": {"text_only": drawn.get("generator"), "depth": as_generator(nets["depth"]).describe()},
        "no_person": done.no_person.tolist(),
        "filtered": done.filtered.tolist(),
        "scores": np.nan_to_num(done.scores, nan=-1.0).tolist(),
    }  # -1: no person (the seed's code)
    write(out, "samples", kept, [texts[i] for i in done.kept], attrs)
    return {"n_kept": float(len(done.kept)), "n_no_person": float(len(done.no_person)), "n_filtered": float(len(done.filtered))}


def augment(bodies: Bodies, prior, k: int, g: torch.Generator) -> Bodies:
    """k bodies per input: the input itself, then k-1 of the seed's SPIN pose augmentation (input-major order)."""
    n = len(bodies.pose)
    pose = bodies.pose.repeat_interleave(k, 0).clone()
    shape = bodies.shape.repeat_interleave(k, 0).clone()
    trans = bodies.trans.repeat_interleave(k, 0).clone()
    aug = torch.arange(n * k) % k != 0
    if aug.any():
        m = int(aug.sum())
        with torch.no_grad():
            q = prior.encode(pose[aug][:, 1:].flatten(1))
            z = q.loc + q.scale * torch.randn(q.loc.shape, generator=g)
            z = z * (1.5 + 0.3 * torch.randn(z.shape, generator=g))
            pose[aug, 1:] = prior.decode(z).reshape(m, -1, 3)
        import roma

        tilt = roma.rotvec_to_rotmat(torch.deg2rad(10.0 * torch.randn(m, 3, generator=g)))
        pose[aug, 0] = roma.rotmat_to_rotvec(tilt @ roma.rotvec_to_rotmat(pose[aug, 0]))
        shape[aug] = (shape[aug] * (1 + 0.1 * torch.randn(m, shape.shape[1], generator=g))).clamp(0, 1)
    return Bodies(pose, shape, trans)


def generate(
    prompt: str,
    n: int,
    nets: dict,
    sample: SampleConfig,
    cfg: CorrectConfig,
    seed: int,
    backend: str,
    body: BodyModel,
    out: Path,
    save_mesh: bool,
    provenance: dict,
) -> dict[str, float]:
    """The seed's `api.py`: `n` text-to-image samples of `prompt` and their pose corrections, into the folder `out`.

    `text_only/NNN.png` every sample; `corrected/NNN.png` those the correction kept (a person
    found and, with `min_score`, a prior score high enough: the seed's api returns -1
    otherwise); `bodies.npz` the regressed bodies of the kept ones (pose axis-angles, shape,
    translation in mm, `index` into the samples); with `save_mesh`, `meshes/NNN.obj` each
    body in the camera's frame (mm); `scores.json` per sample its prompt, whether a person
    was found, its prior score and whether it was corrected. When no sample has a person,
    the text-only images and the scores are still written (no bodies, nothing corrected).
    The folder is written whole or not at all. nets: t2i, mask, hmr, prior, depth.
    """
    import trimesh
    from PIL import Image

    g = torch.Generator().manual_seed(seed)
    t2i, depth = as_generator(nets["t2i"]), as_generator(nets["depth"])
    images = t2i.sample([prompt] * n, "--prompt", sample, g)
    try:
        done = correct(images, [prompt] * n, nets | {"depth": depth}, cfg, sample, g, backend, body, "--prompt")
        kept, no_person, prior = done.kept, done.no_person, done.scores
    except ComputationError:  # no sample has a person (or passes the prior): the seed's api returns -1 for each
        done, kept, prior = None, np.zeros(0, np.int64), np.full(n, np.nan)
        found = person_masks(nets["mask"], images).flatten(1).float().mean(1).numpy() >= cfg.min_person_fraction
        no_person = np.flatnonzero(~found)
    with atomic_path(out, is_dir=True) as tmp:
        for folder in ("text_only", "corrected"):
            (tmp / folder).mkdir(parents=True)
        for i, image in enumerate(to_uint8(images)):
            Image.fromarray(image).save(tmp / "text_only" / f"{i:03d}.png")
        if done is not None:
            for i, image in zip(kept, to_uint8(done.images), strict=True):
                Image.fromarray(image).save(tmp / "corrected" / f"{i:03d}.png")
            b = done.bodies
            np.savez(tmp / "bodies.npz", index=kept, pose=b.pose.numpy(), shape=b.shape.numpy(), trans=b.trans.numpy())
            if save_mesh:
                (tmp / "meshes").mkdir()
                with torch.no_grad():
                    verts = body(b.pose.double(), b.shape.double()).vertices.numpy()
                for i, v, t in zip(kept, verts, b.trans.numpy(), strict=True):
                    trimesh.Trimesh(to_camera(v, t), body.faces, process=False).export(tmp / "meshes" / f"{i:03d}.obj")
        per_image = [
            {
                "index": i,
                "prompt": prompt,
                "person_found": i not in no_person,
                "prior_score": float(prior[i]) if np.isfinite(prior[i]) else None,
                "corrected": i in kept,
            }
            for i in range(n)
        ]
        summary = {"n": n, "n_corrected": len(kept), "n_no_person": len(no_person), "seed": seed, "min_score": cfg.min_score}
        summary["generator"] = {"text_only": t2i.describe(), "depth": depth.describe()}
        (tmp / "scores.json").write_text(json.dumps({"provenance": provenance, **summary, "images": per_image}, indent=1))
    return {"n_images": float(n), "n_corrected": float(len(kept)), "n_no_person": float(len(no_person))}
