"""Stage 3: the 33-class part mask of every image, rendered from its frame's MANO fits, into LMDB.

Classes as the seed: background 0, right-hand parts 1-16, left 17-32, each face
labelled by its dominant bone (the sidecar's `face_parts`; the wrist cap is the
palm). The closed (wrist-sealed) meshes are rasterized in the image's own camera
at `scale` times its resolution, stored as single-channel PNG under the same key
as the image. The seed renders at full resolution with neural_renderer, keeps a
3-channel PNG and a stray 1-pixel skew in its intrinsics; none of that is kept.

Beside the store, a meta JSON per image (the seed's `meta_dict`): each hand's fit
error (mean distance of the fit's joints to the annotated ones, mm; null when the
hand has no fit) and `segm_valid`: the hands the annotation says are present all
have fits, each within `max_fit_error_mm`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from handflow.config import Section
from handflow.datasets.interhand.reader import FrameRecord, InterHandSplit, TimeStep
from handflow.hand.model import HandModel
from handflow.papers.digit.images import image_key
from handflow.render.images import part_labels, two_hand_face_labels
from handflow.render.rasterize import rasterize
from handflow.storage.atomic import atomic_write_text
from handflow.storage.lmdb_store import PackStats, pack

SIDES = ("right", "left")
NEEDED = {"interacting": SIDES, "right": ("right",), "left": ("left",)}


@dataclass(frozen=True)
class SegmentationConfig(Section):
    """params `digit.segmentation`."""

    scale: float  # mask resolution relative to the image (the seed: 1.0)
    max_fit_error_mm: float  # a hand whose MANO fit is farther from its annotated joints is flagged (segm_valid false)


class PartMaskRenderer:
    def __init__(self, hands: dict[str, HandModel], scale: float, backend: str = "auto") -> None:
        self.hands, self.scale, self.backend = hands, scale, backend
        self._step_key: tuple[int, int] | None = None
        self._posed: dict[str, tuple[np.ndarray, float] | None] = {}

    def _pose(self, step: TimeStep) -> dict[str, tuple[np.ndarray, float] | None]:
        """Per side: sealed world vertices (mm) and fit error (mm), or None without a fit; cached per time step."""
        key = (step.capture, step.frame_idx)
        if key != self._step_key:
            self._posed = {}
            for off, side in ((0, "right"), (21, "left")):
                fit = step.mano.get(side)
                if fit is None:
                    self._posed[side] = None
                    continue
                model = self.hands[side]
                dtype = model.hands_components.dtype
                with torch.no_grad():
                    args = (fit.global_orient[None], fit.hand_pose[None], fit.shape[None], fit.trans[None])
                    out = model(*(torch.as_tensor(a, dtype=dtype) for a in args))
                    sealed = model.seal(out.vertices)[0].double().numpy() * 1000.0
                joints = out.joints[0].double().numpy() * 1000.0
                valid = step.joint_valid[off : off + 21]
                err = (
                    float(np.linalg.norm(joints - step.joints_world[off : off + 21], axis=1)[valid].mean()) if valid.any() else float("nan")
                )
                self._posed[side] = (sealed, err)
            self._step_key = key
        return self._posed

    def render(self, rec: FrameRecord) -> np.ndarray:
        """(H * scale, W * scale) uint8 class mask of one image."""
        posed = self._pose(rec.step)
        verts, faces, parts, offset = [], [], {}, 0
        for side in SIDES:
            if posed[side] is None:
                continue
            verts.append(rec.camera.world_to_cam(posed[side][0]))
            faces.append(self.hands[side].sealed_faces.numpy() + offset)
            parts[side] = self.hands[side].sidecar.face_parts
            offset += len(verts[-1])
        size = (round(rec.width * self.scale), round(rec.height * self.scale))
        if not verts:
            return np.zeros(size[::-1], np.uint8)
        # pixel centres of the scaled image: (u + 0.5) * s - 0.5
        princpt = (rec.camera.princpt + 0.5) * self.scale - 0.5
        raster = rasterize(np.concatenate(verts), np.concatenate(faces), rec.camera.focal * self.scale, princpt, size, backend=self.backend)
        return part_labels(raster, two_hand_face_labels(parts.get("right"), parts.get("left")))

    def meta(self, rec: FrameRecord, max_fit_error_mm: float) -> dict:
        posed = self._pose(rec.step)
        errs = {side: (None if posed[side] is None else round(posed[side][1], 4)) for side in SIDES}
        needed = NEEDED.get(rec.hand_type or "", ())
        valid = bool(needed) and all(errs[s] is not None and errs[s] <= max_fit_error_mm for s in needed)
        return {"right_fit_err_mm": errs["right"], "left_fit_err_mm": errs["left"], "imsize": [rec.width, rec.height], "segm_valid": valid}


def _png(renderer: PartMaskRenderer, rec: FrameRecord) -> bytes:
    return cv2.imencode(".png", renderer.render(rec))[1].tobytes()


def render_split(
    root: Path,
    split: str,
    hands: dict[str, HandModel],
    out: Path,
    meta_out: Path,
    scale: float,
    max_fit_error_mm: float,
    backend: str = "auto",
    batch_mb: int = 64,
) -> PackStats:
    data = InterHandSplit(root, split)
    renderer = PartMaskRenderer(hands, scale, backend)
    # records in time-step order, so each step's hands are posed once for all its cameras
    records = sorted(data, key=lambda r: (r.capture, r.frame_idx, r.camera_id))

    meta = {image_key(split, rec.file_name): renderer.meta(rec, max_fit_error_mm) for rec in records}
    stats = pack(
        [(image_key(split, rec.file_name), functools.partial(_png, renderer, rec)) for rec in records], out, batch_bytes=batch_mb << 20
    )
    atomic_write_text(
        meta_out, json.dumps({"split": split, "scale": scale, "max_fit_error_mm": max_fit_error_mm, "images": meta}, indent=1)
    )
    return stats
