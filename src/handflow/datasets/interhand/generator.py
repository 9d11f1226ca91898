"""The embedded default: a small InterHand2.6M v1.0 tree, in the real layout and schema.

Written so that the very reader and stages that consume real InterHand2.6M run
on it unchanged:

    annotations/skeleton.txt, annotations/subject.txt
    annotations/{split}/InterHand2.6M_{split}_{data,camera,joint_3d,MANO_NeuralAnnot}.json
    images/{split}/Capture{N}/{seq_name}/cam{id}/image{frame}.jpg

Each time step is one hand configuration in world millimetres (right, left or
interacting), seen by every camera of its capture; the joints, MANO fits, boxes
and validity of every image are computed from the same posed meshes and camera,
so they agree by construction. Poses interpolate, within a sequence, between
articulations drawn from the hand model's own pose space (`hands_coeffs`), so a
real MANO folder drives the generator as well as the open model. Interacting
hands are brought into contact along a random direction, stopping where their
bone-sphere proxies touch, then pushed apart until no vertex of one hand lies
inside the other's sealed mesh. A little of what real files contain is
reproduced on purpose: missing MANO fits, joints outside the image marked
invalid, and per-frame shape variation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from handflow.config import Section
from handflow.geometry.camera import Camera, look_at
from handflow.geometry.penetration import inside
from handflow.hand.bones import BoneSpheres
from handflow.hand.joints import skeleton_lines
from handflow.hand.model import HandModel
from handflow.render.images import Lighting, shade, to_srgb8
from handflow.render.rasterize import rasterize
from handflow.storage.atomic import atomic_path

SPLITS = ("train", "val", "test")
SEQ_NAMES = (
    "0000_neutral_relaxed",
    "0002_good_luck",
    "0051_dinosaur",
    "0125_finger_squeeze",
    "ROM01_No_Interaction_2_Hand",
    "ROM04_RT_Occlusion",
    "ROM07_Rt_Finger_Occlusions",
    "ROM09_Interaction_Fingers_Touching",
)
# sRGB skin tones from light to dark; per subject one is picked and jittered
SKIN_TONES = np.array([[236, 188, 160], [224, 172, 140], [198, 144, 110], [170, 118, 86], [130, 88, 62], [92, 60, 42]], np.float64) / 255.0
FRAME_STEP = 6  # 5 fps sampling of 30 fps capture frame numbers, as v1.0's 5 fps subset


@dataclass(frozen=True)
class SplitSize(Section):
    n_captures: int
    n_sequences: int
    n_frames: int


@dataclass(frozen=True)
class EmbeddedConfig(Section):
    """params `data.embedded`, plus the global seed."""

    splits: dict[str, SplitSize]
    n_cameras: int
    cameras_per_frame: int  # capped at n_cameras
    image_width: int
    image_height: int
    interacting_fraction: float
    missing_mano_fraction: float
    seed: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras_per_frame", min(self.cameras_per_frame, self.n_cameras))


def _linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


@dataclass
class _Hand:
    """One posed hand of one time step, in world metres."""

    global_orient: np.ndarray  # (3,)
    pose: np.ndarray  # (45,) axis-angle minus the mean pose
    shape: np.ndarray  # (10,)
    trans: np.ndarray  # (3,)
    verts: np.ndarray  # (V, 3)
    sealed: np.ndarray  # (V + 1, 3)
    joints: np.ndarray  # (21, 3) InterHand2.6M order


class Generator:
    def __init__(self, hands: dict[str, HandModel], cfg: EmbeddedConfig, backend: str = "auto") -> None:
        self.hands = hands
        self.cfg = cfg
        self.backend = backend
        self.coeffs = {s: h.layer.np_hand_components for s, h in hands.items()}
        rest = {s: self._pose_hand(s, np.zeros(3), np.zeros(45), np.zeros(10), np.zeros(3)) for s in hands}
        self.spheres = {s: BoneSpheres.fit(rest[s].verts, rest[s].joints) for s in hands}
        self.pose_bank = self._pose_bank()

    def _pose_bank(self) -> np.ndarray:
        """Articulations (minus mean) the model's pose space was built from, in PCA coefficients."""
        bank = self.hands["right"].pose_bank
        if bank is None:
            raise ValueError("hand model has no hands_coeffs: cannot sample poses")
        return np.asarray(bank, np.float64)

    # ---- posing -------------------------------------------------------------------------
    def _pose_hand(self, side: str, orient, pose, shape, trans) -> _Hand:
        model = self.hands[side]
        with torch.no_grad():
            out = model(
                torch.as_tensor(orient[None], dtype=torch.float32),
                torch.as_tensor(pose[None], dtype=torch.float32),
                torch.as_tensor(shape[None], dtype=torch.float32),
                torch.as_tensor(trans[None], dtype=torch.float32),
            )
            sealed = model.seal(out.vertices)
        return _Hand(
            orient, pose, shape, trans, out.vertices[0].double().numpy(), sealed[0].double().numpy(), out.joints[0].double().numpy()
        )

    def _articulation(self, side: str, coeffs: np.ndarray) -> np.ndarray:
        # the bank is in right-hand PCA coefficients; the left model's components are the
        # mirrored ones, so the same coefficients give the mirrored articulation
        return coeffs @ np.asarray(self.coeffs[side], np.float64)

    def _keyframe(self, rng: np.random.Generator) -> np.ndarray:
        a, b = self.pose_bank[rng.integers(len(self.pose_bank), size=2)]
        w = rng.uniform()
        return w * a + (1 - w) * b + rng.normal(0.0, 0.05, a.shape)

    def _place_pair(self, right: _Hand, left_orient, left_pose, left_shape, rng) -> _Hand:
        """Translate the left hand towards the right one until they touch without penetrating."""
        probe = self._pose_hand("left", left_orient, left_pose, left_shape, np.zeros(3))
        centre_r = right.verts.mean(0)
        offset = centre_r - probe.verts.mean(0)
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        gap = rng.uniform(0.0005, 0.004)

        def clearance(s: float) -> float:
            moved = probe.joints + offset + s * direction
            return self.spheres["left"].clearance(moved, self.spheres["right"], right.joints)

        lo, hi = 0.0, 0.4
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if clearance(mid) > gap else (mid, hi)
        s = hi
        faces = {side: self.hands[side].sealed_faces.numpy() for side in ("right", "left")}
        for _ in range(60):
            trans = offset + s * direction
            moved = probe.sealed + trans
            if not inside(moved[:-1], right.sealed, faces["right"]).any() and not inside(right.verts, moved, faces["left"]).any():
                break
            s += 0.002
        else:
            raise RuntimeError("could not separate the two hands")
        return self._pose_hand("left", left_orient, left_pose, left_shape, offset + s * direction)

    # ---- a capture -------------------------------------------------------------------------
    def _cameras(self, rng: np.random.Generator, centre_mm: np.ndarray) -> dict[str, Camera]:
        cams = {}
        ids = sorted(rng.choice(np.arange(400000, 400100), size=self.cfg.n_cameras, replace=False))
        w, h = self.cfg.image_width, self.cfg.image_height
        for k, cid in enumerate(ids):
            azimuth = 2 * np.pi * k / self.cfg.n_cameras + rng.uniform(-0.3, 0.3)
            elevation = rng.uniform(-0.5, 0.7)
            dist = rng.uniform(650.0, 900.0)
            offset = dist * np.array([np.cos(elevation) * np.cos(azimuth), -np.sin(elevation), np.cos(elevation) * np.sin(azimuth)])
            campos = centre_mm + offset
            R = look_at(campos, centre_mm + rng.normal(0.0, 15.0, 3))
            focal = np.full(2, rng.uniform(1.9, 2.3) * w) * np.array([1.0, rng.uniform(0.998, 1.002)])
            princpt = np.array([w / 2 + rng.normal(0, 2), h / 2 + rng.normal(0, 2)])
            cams[str(cid)] = Camera(R, campos, focal, princpt)
        return cams

    def _time_steps(self, rng: np.random.Generator, n_frames: int, betas: np.ndarray, hand_type: str):
        """Hands of each frame of one sequence (interpolated keyframes, shared hand type)."""
        kf = {s: (self._keyframe(rng), self._keyframe(rng)) for s in ("right", "left")}
        orient0 = {s: rng.normal(0.0, 1.2, 3) for s in ("right", "left")}
        spin = {s: rng.normal(0.0, 0.25, 3) for s in ("right", "left")}
        centre = rng.normal(0.0, 0.03, 3)
        steps = []
        for i in range(n_frames):
            a = i / max(n_frames - 1, 1)
            hands = {}
            for side in ("right", "left"):
                pose = self._articulation(side, (1 - a) * kf[side][0] + a * kf[side][1])
                shape = betas + rng.normal(0.0, 0.03, 10)  # real fits vary per frame too
                orient = orient0[side] + a * spin[side]
                if side == "left" and hand_type == "interacting":
                    hands[side] = self._place_pair(hands["right"], orient, pose, shape, rng)
                else:
                    probe = self._pose_hand(side, orient, pose, shape, np.zeros(3))
                    hands[side] = self._pose_hand(side, orient, pose, shape, centre - probe.joints[20])
            steps.append(hands)
        return steps

    def _background(self, rng: np.random.Generator) -> np.ndarray:
        h, w = self.cfg.image_height, self.cfg.image_width
        kind = rng.integers(3)
        base = rng.uniform(0.02, 0.35, 3) * (0.4 if kind == 0 else 1.0)
        yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
        grad = base + rng.uniform(-0.1, 0.1, 3) * (xx[..., None] * rng.uniform(-1, 1) + yy[..., None] * rng.uniform(-1, 1))
        if kind >= 1:
            small = rng.uniform(0, 1, (6, 6, 3)) * rng.uniform(0.05, 0.25)
            grad = grad + cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        if kind == 2:
            for _ in range(rng.integers(3, 9)):
                colour = rng.uniform(0.0, 0.6, 3)
                c = (int(rng.integers(w)), int(rng.integers(h)))
                axes = (int(rng.integers(10, w // 2)), int(rng.integers(10, h // 3)))
                cv2.ellipse(grad, c, axes, float(rng.uniform(0, 180)), 0, 360, colour.tolist(), -1)
            grad = cv2.GaussianBlur(grad, (0, 0), rng.uniform(2.0, 6.0))
        return np.clip(grad, 0.0, 1.0)

    def _lighting(self, rng: np.random.Generator) -> Lighting:
        n = int(rng.integers(1, 4))
        dirs = rng.normal(size=(n, 3)) + np.array([0.0, -0.8, -1.2])  # mostly from the front/top
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        warmth = rng.uniform(-0.12, 0.12, (n, 1)) * np.array([1.0, 0.0, -1.0])
        colors = (1.0 + warmth) * rng.uniform(0.5, 1.1, (n, 1)) / n**0.5
        return Lighting(dirs, colors, ambient=np.full(3, rng.uniform(0.12, 0.35)))

    def _albedo(self, rng: np.random.Generator, tone: np.ndarray, side: str) -> np.ndarray:
        model = self.hands[side]
        n = model.n_vertices + 1
        parts = model.sidecar.vertex_parts
        blotch = rng.normal(0.0, 0.025, (n, 1))
        albedo = np.clip(tone[None] * (1.0 + blotch), 0.0, 1.0)
        albedo[parts != 0] *= np.array([1.03, 0.97, 0.96])  # fingers slightly redder
        return _linear(albedo)

    def render(self, hands: dict[str, _Hand], present: tuple[str, ...], cam: Camera, rng, tone) -> np.ndarray:
        verts, faces, albedo = [], [], []
        offset = 0
        for side in present:
            hand = self.hands[side]
            verts.append(cam.world_to_cam(hands[side].sealed * 1000.0))
            faces.append(hand.sealed_faces.numpy() + offset)
            albedo.append(self._albedo(rng, tone, side))
            offset += len(verts[-1])
        verts_cam, faces_all = np.concatenate(verts), np.concatenate(faces)
        size = (self.cfg.image_width, self.cfg.image_height)
        raster = rasterize(verts_cam, faces_all, cam.focal, cam.princpt, size, backend=self.backend)
        rgb, fg = shade(raster, verts_cam, faces_all, np.concatenate(albedo), self._lighting(rng), cam.focal, cam.princpt)
        img = np.where(fg[..., None], rgb, _linear(self._background(rng)))
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.1))
        img = img * rng.uniform(0.85, 1.15) + rng.normal(0.0, rng.uniform(0.004, 0.012), img.shape)
        return to_srgb8(img)

    # ---- the tree -------------------------------------------------------------------------
    def write(self, out_root: Path) -> dict:
        cfg = self.cfg
        counts = {}
        with atomic_path(out_root, is_dir=True) as root:
            ann = root / "annotations"
            ann.mkdir(parents=True)
            (ann / "skeleton.txt").write_text("\n".join(skeleton_lines()) + "\n")
            subjects = []
            subject_id = 0
            for split_idx, split in enumerate(SPLITS):
                size = cfg.splits[split]
                data = {"images": [], "annotations": []}
                camera_json, joint_json, mano_json = {}, {}, {}
                for cap in range(size.n_captures):
                    rng = np.random.default_rng([cfg.seed, split_idx, cap])
                    subject_id += 1
                    subjects.append(f"{subject_id}, subject_{subject_id}, {'male' if rng.uniform() < 0.5 else 'female'}")
                    tone = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.95, 1.05, 3)
                    betas = rng.normal(0.0, 0.8, 10)
                    centre_mm = np.array([0.0, 0.0, 1000.0]) + rng.normal(0, 50, 3)
                    cams = self._cameras(rng, centre_mm)
                    cap_id = str(cap)
                    camera_json[cap_id] = {
                        "campos": {c: k.campos.tolist() for c, k in cams.items()},
                        "camrot": {c: k.R.tolist() for c, k in cams.items()},
                        "focal": {c: k.focal.tolist() for c, k in cams.items()},
                        "princpt": {c: k.princpt.tolist() for c, k in cams.items()},
                    }
                    joint_json[cap_id], mano_json[cap_id] = {}, {}
                    seqs = rng.choice(SEQ_NAMES, size=size.n_sequences, replace=False)
                    frame_idx = int(rng.integers(1000, 30000)) // FRAME_STEP * FRAME_STEP
                    for seq in seqs:
                        u = rng.uniform()
                        if u < cfg.interacting_fraction:
                            hand_type = "interacting"
                        else:
                            hand_type = "right" if rng.uniform() < 0.5 else "left"
                        present = ("right", "left") if hand_type == "interacting" else (hand_type,)
                        for hands in self._time_steps(rng, size.n_frames, betas, hand_type):
                            for side in hands:
                                hands[side].trans = hands[side].trans + centre_mm / 1000.0
                                hands[side].verts = hands[side].verts + centre_mm / 1000.0
                                hands[side].sealed = hands[side].sealed + centre_mm / 1000.0
                                hands[side].joints = hands[side].joints + centre_mm / 1000.0
                            world = np.zeros((42, 3))
                            annotated = np.zeros(42)
                            for side, off in (("right", 0), ("left", 21)):
                                if side in present:
                                    world[off : off + 21] = hands[side].joints * 1000.0
                                    annotated[off : off + 21] = 1.0
                            fkey = str(frame_idx)
                            joint_json[cap_id][fkey] = {
                                "world_coord": world.round(4).tolist(),
                                "joint_valid": annotated.tolist(),
                                "hand_type": hand_type,
                                "hand_type_valid": 1,
                                "seq": str(seq),
                            }
                            mano_json[cap_id][fkey] = {
                                side: None
                                if side not in present or rng.uniform() < cfg.missing_mano_fraction
                                else {
                                    "pose": np.r_[hands[side].global_orient, hands[side].pose].round(6).tolist(),
                                    "shape": hands[side].shape.round(6).tolist(),
                                    "trans": hands[side].trans.round(6).tolist(),
                                }
                                for side in ("right", "left")
                            }
                            # As in the real captures, each time step is seen by a subset of the cameras.
                            seen = sorted(rng.choice(sorted(cams), size=cfg.cameras_per_frame, replace=False))
                            for cam_id in seen:
                                cam = cams[cam_id]
                                self._write_image(
                                    root,
                                    split,
                                    cap,
                                    str(seq),
                                    cam_id,
                                    cam,
                                    frame_idx,
                                    hands,
                                    present,
                                    world,
                                    annotated,
                                    hand_type,
                                    data,
                                    rng,
                                    tone,
                                    subject_id,
                                )
                            frame_idx += FRAME_STEP
                adir = ann / split
                adir.mkdir()
                prefix = f"InterHand2.6M_{split}"
                for name, obj in (("data", data), ("camera", camera_json), ("joint_3d", joint_json), ("MANO_NeuralAnnot", mano_json)):
                    (adir / f"{prefix}_{name}.json").write_text(json.dumps(obj))
                counts[split] = {"images": len(data["images"]), "time_steps": sum(len(v) for v in joint_json.values())}
            (ann / "subject.txt").write_text("\n".join(subjects) + "\n")
        return counts

    def _write_image(
        self, root, split, cap, seq, cam_id, cam, frame_idx, hands, present, world, annotated, hand_type, data, rng, tone, subject_id
    ):
        w, h = self.cfg.image_width, self.cfg.image_height
        img = self.render(hands, present, cam, rng, tone)
        rel = f"Capture{cap}/{seq}/cam{cam_id}/image{frame_idx}.jpg"
        path = root / "images" / split / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(85, 96))])
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for {rel}")
        path.write_bytes(buf.tobytes())
        uv = cam.world_to_pixel(world)
        in_img = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
        valid = (annotated > 0) & in_img & (cam.world_to_cam(world)[:, 2] > 0)
        if valid.any():
            lo, hi = uv[valid].min(0), uv[valid].max(0)
            pad = 0.1 * (hi - lo) + 5.0
            lo, hi = np.maximum(lo - pad, 0), np.minimum(hi + pad, [w - 1, h - 1])
            bbox = [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]
        else:
            bbox = [0.0, 0.0, float(w), float(h)]
        image_id = len(data["images"])
        data["images"].append(
            {
                "id": image_id,
                "file_name": rel,
                "width": w,
                "height": h,
                "capture": cap,
                "subject": subject_id,
                "seq_name": seq,
                "camera": cam_id,
                "frame_idx": frame_idx,
            }
        )
        htv = 1 if hand_type != "interacting" or valid.sum() > 30 else 0
        data["annotations"].append(
            {
                "id": image_id,
                "image_id": image_id,
                "bbox": [round(b, 3) for b in bbox],
                "joint_valid": [[int(v)] for v in valid],
                "hand_type": hand_type,
                "hand_type_valid": htv,
            }
        )
