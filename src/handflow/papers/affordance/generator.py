"""The embedded default for Affordance Diffusion: a small HOI4D tree, in HOI4D's own layout, rendered here.

Written so that the reader and stages that consume real HOI4D run on it unchanged:

    HOI4D_release/<vid>/align_rgb/image.mp4                          RGB video (mp4v, 15 fps)
    HOI4D_annotations/<vid>/2Dseg/shift_mask/{frame:05d}.png         VOC palette: 1 object, 2 right hand
    handpose/refinehandpose_right/<vid>/{frame}.pickle               poseCoeff, beta, trans, kps2D
    Sets/{split}.csv                                                  vid_index,frame_number,obj: frames in contact

`<vid>` is HOI4D's `ZY2021080000<cam>/H<human>/C<class>/N<instance>/S<room>/s<layout>/T<task>`
with the class ids of the five categories built in `objects`. Instances are split by
identity (no test instance is seen in training), as HOI4D's per-instance splits.

Each video is one hand taking one object: the camera orbits a little while the open hand
approaches along the grasp site's normal (first half), closes its fingers (to 80 %),
then holds; the grasp is solved in `grasp` (contact, no interpenetration). What the real
dataset lacks is written beside it under `handflow_truth/<vid>/`: the object-only render
of each frame (the ground truth the inpainting is judged against) and `truth.json` (per
frame: the hand's clearance to the object in mm, contact, and whether the hand is in
view), `object_depth.npz` (per frame, the camera depth in mm of the object's nearest and
farthest surface at each pixel, and the intrinsics: the object's 3D extent along each
pixel's ray, which the evaluation's penetration and 3D contact are measured against), with
`Sets/{split}_frames.csv` listing every frame for the contact classifier.

Conventions of the pose pickles (HOI4D does not document its own): camera frame, metres,
`poseCoeff` = 3 global axis-angle about the root joint + 45 full articulation (the flat
hand is zero, manopth's `flat_hand_mean=True`), `kps2D` in OpenPose order, frame pixels.
"""

from __future__ import annotations

import csv
import io
import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from handflow.config import Section
from handflow.errors import ComputationError
from handflow.geometry.camera import Camera, look_at
from handflow.geometry.rotations import matrix_to_axis_angle_np
from handflow.hand.model import HandModel
from handflow.papers.affordance import hoi4d
from handflow.papers.affordance.grasp import Grasp, forearm, hand_frame, rotation_of, signed_distance_outside, solve_grasp
from handflow.papers.affordance.objects import BUILDERS, CATEGORY_IDS, CATEGORY_NAMES
from handflow.render.images import Lighting, shade, to_srgb8
from handflow.render.rasterize import rasterize
from handflow.storage.atomic import atomic_path

SPLITS = ("train", "test")
FPS = 15
PALETTE = {1: (128, 0, 0), 2: (0, 128, 0)}  # VOC label -> RGB
CONTACT_MM = 5.0  # a hand within this of the object touches it
APPROACH_M = 0.12  # how far out along the site normal the hand starts
SKIN = np.array([[236, 188, 160], [224, 172, 140], [198, 144, 110], [170, 118, 86], [130, 88, 62]], np.float64) / 255.0


@dataclass(frozen=True)
class SplitSize(Section):
    instances: int  # per category
    videos: int  # per instance


@dataclass(frozen=True)
class EmbeddedHOI4DConfig(Section):
    """params `affordance.embedded`, plus the global seed."""

    categories: tuple[str, ...]
    splits: dict[str, SplitSize]
    n_frames: int
    image_width: int
    image_height: int
    seed: int


def _linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _smooth(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def vid_index(category: str, instance: int, video: int, split: str) -> str:
    """HOI4D's video id for one of ours (camera, human, class, instance, room, layout, task fields)."""
    cls = CATEGORY_IDS[category]
    room = 1 + (instance + (0 if split == "train" else 50)) % 9
    return f"ZY2021080000{1 + video % 4}/H{1 + video % 3}/C{cls}/N{instance + (1 if split == 'train' else 51):02d}/S{room}/s{video % 5}/T1"


def object_depths(cam: Camera, verts: np.ndarray, faces: np.ndarray, size: tuple[int, int], backend: str = "auto") -> np.ndarray:
    """(2, H, W) camera depth (mm) of a mesh's nearest and farthest surface per pixel (verts in world metres), 0 off it.

    The far surface is the near surface of the mesh mirrored in depth about the plane z = (z_min + z_max) / 2 along
    each vertex's own ray (x, y scaled so every vertex keeps its pixel): the rasterizer's z-buffer keeps the nearest,
    which is then the farthest of the original. Exact at the vertices; inside a triangle the mirrored face is a
    projective image of the original, off by well under a millimetre for faces of a few millimetres.
    """
    v = cam.world_to_cam(verts) * 1000.0
    near = rasterize(v, faces, cam.focal, cam.princpt, size, backend=backend).depth
    c = v[:, 2].min() + v[:, 2].max()
    mirrored = np.concatenate([v[:, :2] * ((c - v[:, 2]) / v[:, 2])[:, None], (c - v[:, 2])[:, None]], axis=1)
    far = c - rasterize(mirrored, faces, cam.focal, cam.princpt, size, backend=backend).depth
    both = np.stack([near, far])
    return np.where(np.isfinite(both), both, 0.0)


class HOI4DGenerator:
    def __init__(self, hand: HandModel, cfg: EmbeddedHOI4DConfig, backend: str = "auto") -> None:
        self.hand, self.cfg, self.backend = hand, cfg, backend
        unknown = [c for c in cfg.categories if c not in BUILDERS]
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {sorted(BUILDERS)}")

    # ---- scene ----------------------------------------------------------------------------------
    def _background(self, rng: np.random.Generator) -> np.ndarray:
        """A table below a wall, both with a little low-frequency texture (linear RGB)."""
        h, w = self.cfg.image_height, self.cfg.image_width
        horizon = int(h * rng.uniform(0.15, 0.4))
        img = np.empty((h, w, 3))
        img[:horizon] = rng.uniform(0.15, 0.6, 3)
        img[horizon:] = rng.uniform(0.05, 0.45, 3)
        img += cv2.resize(rng.normal(0, 0.04, (5, 7, 3)), (w, h), interpolation=cv2.INTER_CUBIC)
        return np.clip(img, 0.0, 1.0)

    def _lighting(self, rng: np.random.Generator) -> Lighting:
        n = int(rng.integers(1, 3))
        dirs = rng.normal(size=(n, 3)) + np.array([0.0, -1.0, -1.0])
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        return Lighting(dirs, rng.uniform(0.6, 1.0, (n, 1)) * np.ones(3) / n**0.5, ambient=np.full(3, rng.uniform(0.2, 0.35)))

    def _cameras(self, rng: np.random.Generator, centre: np.ndarray, site_normal: np.ndarray) -> list[Camera]:
        """One camera per frame on a short orbit around the object, on the side the hand comes from."""
        w, h, n = self.cfg.image_width, self.cfg.image_height, self.cfg.n_frames
        if abs(site_normal[2]) > 0.9:  # held from above: any azimuth
            az0, elev = rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 0.9)
        else:
            az0 = np.arctan2(site_normal[1], site_normal[0]) + rng.choice([-1, 1]) * rng.uniform(0.35, 1.1)
            elev = rng.uniform(0.35, 0.7)
        sweep, dist = rng.uniform(-0.25, 0.25), rng.uniform(0.42, 0.55)
        focal = np.full(2, 1.05 * w)
        cams = []
        for s in np.linspace(0.0, 1.0, n):
            az, d = az0 + sweep * s, dist * (1 + 0.06 * np.sin(np.pi * s))
            campos = centre + d * np.array([np.cos(az) * np.cos(elev), np.sin(az) * np.cos(elev), np.sin(elev)])
            cams.append(Camera(look_at(campos, centre, up=np.array([0.0, 0.0, 1.0])), campos, focal, np.array([w / 2, h / 2])))
        return cams

    # ---- one video --------------------------------------------------------------------------------
    def _hand_at(self, grasp: Grasp, betas: np.ndarray, s: float) -> tuple[np.ndarray, ...]:
        """(orient, articulation, transl, sealed vertices, OpenPose joints) of the hand at video time s in [0, 1]."""
        approach = (1 - _smooth(s / 0.5)) * APPROACH_M
        closing = _smooth((s - 0.5) / 0.3)
        transl = grasp.transl - grasp.approach * approach
        art = grasp.articulation * closing
        mean = self.hand.layer.hand_mean.detach().double().numpy()
        with torch.no_grad():
            out = self.hand(*(torch.as_tensor(v[None], dtype=torch.float32) for v in (grasp.orient, art - mean, betas, transl)))
            sealed = self.hand.seal(out.vertices)[0].double().numpy()
        return grasp.orient, art, transl, sealed, out.joints_openpose()[0].double().numpy()

    def _render(
        self, cam: Camera, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]], bg: np.ndarray, light: Lighting, noise: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """sRGB8 image and label map of (verts world m, faces, albedo, label) parts."""
        verts, faces, albedo, labels, offset = [], [], [], [], 0
        for v, f, a, label in parts:
            verts.append(cam.world_to_cam(v) * 1000.0)
            faces.append(f + offset)
            albedo.append(a)
            labels.append(np.full(len(f), label, np.uint8))
            offset += len(v)
        v_cam, f_all = np.concatenate(verts), np.concatenate(faces)
        size = (self.cfg.image_width, self.cfg.image_height)
        raster = rasterize(v_cam, f_all, cam.focal, cam.princpt, size, backend=self.backend)
        rgb, fg = shade(raster, v_cam, f_all, np.concatenate(albedo), light, cam.focal, cam.princpt)
        img = np.where(fg[..., None], rgb, bg)
        img = cv2.GaussianBlur(img, (0, 0), 0.6) + noise
        label_map = np.where(fg, np.concatenate(labels)[np.maximum(raster.face_id, 0)], 0)
        return to_srgb8(np.clip(img, 0, 1)), label_map.astype(np.uint8)

    def _video(self, root: Path, vid: str, category: str, rng: np.random.Generator) -> list[dict]:
        obj = BUILDERS[category](rng)
        betas = rng.normal(0.0, 0.8, 10)
        frame = hand_frame(self.hand, betas)
        for _ in range(5):
            site = obj.site(rng)
            grasp = solve_grasp(self.hand, frame, obj.mesh, site)
            if grasp.clearance >= 0:
                break
        else:
            raise ComputationError(f"no grasp without interpenetration found for a {category}")
        tone = SKIN[rng.integers(len(SKIN))] * rng.uniform(0.95, 1.05, 3)
        hand_albedo = np.repeat(_linear(np.clip(tone, 0, 1))[None], self.hand.n_vertices + 1, 0)
        rot = rotation_of(grasp.orient)
        arm = forearm(frame, rot, grasp.transl)
        centre = obj.mesh.bounds.mean(0)
        cams = self._cameras(rng, centre, site.normal)
        bg, light = self._background(rng), self._lighting(rng)
        obj_part = (np.asarray(obj.mesh.vertices), np.asarray(obj.mesh.faces), obj.colors, 1)
        writer_path = hoi4d.video_path(root, vid)
        writer_path.parent.mkdir(parents=True, exist_ok=True)
        size = (self.cfg.image_width, self.cfg.image_height)
        writer = cv2.VideoWriter(str(writer_path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, size)
        if not writer.isOpened():
            raise ComputationError("OpenCV cannot write mp4v video here (its FFmpeg backend is missing)")
        truth, depths = [], []
        root_joint = frame.root
        for f, (s, cam) in enumerate(zip(np.linspace(0.0, 1.0, self.cfg.n_frames), cams, strict=True)):
            orient, art, transl, sealed, joints = self._hand_at(grasp, betas, s)
            shift = transl - grasp.transl
            arm_v = np.asarray(arm.vertices) + shift
            clearance = float(min(signed_distance_outside(obj.mesh, sealed[:-1]).min(), signed_distance_outside(obj.mesh, arm_v).min()))
            noise = rng.normal(0.0, 0.006, (size[1], size[0], 3))
            hand_parts = [
                (sealed, self.hand.sealed_faces.numpy(), hand_albedo, 2),
                (arm_v, np.asarray(arm.faces), hand_albedo[: len(arm_v)], 2),
            ]
            image, labels = self._render(cam, [obj_part, *hand_parts], bg, light, noise)
            object_only, _ = self._render(cam, [obj_part], bg, light, noise)
            depths.append(object_depths(cam, obj_part[0], obj_part[1], size, self.backend))
            writer.write(np.ascontiguousarray(image[..., ::-1]))
            palette = np.zeros((*labels.shape, 3), np.uint8)
            for label, colour in PALETTE.items():
                palette[labels == label] = colour
            self._png(hoi4d.mask_path(root, vid, f), palette)
            self._png(root / "handflow_truth" / vid / "object_only" / f"{f:05d}.png", object_only)
            # the pose in the camera frame (see the module docstring)
            r_cam = cam.R @ rotation_of(orient)
            t_cam = cam.R @ (root_joint + transl - cam.campos) - root_joint
            kps = cam.project(cam.world_to_cam(joints) * 1000.0)
            pose = {
                "poseCoeff": np.concatenate([matrix_to_axis_angle_np(r_cam), art]).astype(np.float32),
                "beta": betas.astype(np.float32),
                "trans": t_cam.astype(np.float32),
                "kps2D": kps.astype(np.float32),
            }
            path = hoi4d.hand_pose_path(root, vid, f)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pickle.dumps(pose, protocol=2))
            in_view = bool((labels == 2).sum() >= 50)
            truth.append(
                {
                    "frame": f,
                    "clearance_mm": clearance * 1000.0,
                    "contact": bool(clearance * 1000.0 < CONTACT_MM and in_view),
                    "hand_in_view": in_view,
                    "object_pixels": int((labels == 1).sum()),
                }
            )
        writer.release()
        np.savez_compressed(
            root / "handflow_truth" / vid / "object_depth.npz",
            depth=np.stack(depths).astype(np.float16),
            focal=cams[0].focal,
            princpt=cams[0].princpt,
        )
        (root / "handflow_truth" / vid / "truth.json").write_text(json.dumps({"category": category, "frames": truth}, indent=1))
        return truth

    @staticmethod
    def _png(path: Path, rgb: np.ndarray) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1])):
            raise ComputationError(f"cannot write {path}")

    # ---- the tree ---------------------------------------------------------------------------------
    def write(self, out: Path) -> dict[str, float]:
        stats = {"videos": 0.0, "frames": 0.0, "contact_frames": 0.0, "min_clearance_mm": float("inf")}
        with atomic_path(out, is_dir=True) as root:
            for split in SPLITS:
                size = self.cfg.splits[split]
                contact_rows, all_rows = [], []
                for c_index, category in enumerate(self.cfg.categories):
                    for instance in range(size.instances):
                        for video in range(size.videos):
                            rng = np.random.default_rng([self.cfg.seed, SPLITS.index(split), c_index, instance, video])
                            vid = vid_index(category, instance, video, split)
                            truth = self._video(root, vid, category, rng)
                            for t in truth:
                                row = (vid, t["frame"], CATEGORY_NAMES[category])
                                all_rows.append(row)
                                if t["contact"]:
                                    contact_rows.append(row)
                            stats["videos"] += 1
                            stats["frames"] += len(truth)
                            stats["contact_frames"] += sum(t["contact"] for t in truth)
                            stats["min_clearance_mm"] = min(stats["min_clearance_mm"], *(t["clearance_mm"] for t in truth))
                for name, rows in ((f"{split}.csv", contact_rows), (f"{split}_frames.csv", all_rows)):
                    buf = io.StringIO()
                    w = csv.writer(buf, lineterminator="\n")
                    w.writerow(["vid_index", "frame_number", "obj"])
                    w.writerows(rows)
                    (root / "Sets").mkdir(exist_ok=True)
                    (root / "Sets" / name).write_text(buf.getvalue())
        return stats
