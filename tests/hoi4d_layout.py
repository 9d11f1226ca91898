"""A small HOI4D copy written here, in HOI4D's own layout, not by the project's embedded generator.

Sequence ids in the official `ZY2021xxxxxxx/H*/C*/N*/S*/s*/T*` form; the RGB video as
`HOI4D_release/<vid>/align_rgb/image.mp4`, or (one video) already decoded into
`align_frames/0001.png...` as the seed's ffmpeg step leaves them; VOC-palette masks in
`HOI4D_annotations/<vid>/2Dseg/shift_mask/00000.png`, or (one video) only in the older
`2Dseg/mask/`; right-hand poses `handpose/refinehandpose_right/<vid>/<frame>.pickle` (a
protocol-2 pickle of numpy arrays: `poseCoeff` 48, `beta` 10, `trans` 3, `kps2D` 21 x 2);
split CSVs `vid_index,frame_number,obj` with HOI4D's '/'-joined object names. The scene is
drawn with OpenCV: a coloured object on a table and a skin-coloured hand (palm disc, five
finger bars, a forearm to the image border) that moves in from the right, so every frame
has a right hand next to the object; the joints are where the drawing puts them.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np

OBJECT_RGB, HAND_RGB = (128, 0, 0), (0, 128, 0)  # VOC palette: label 1 (object), label 2 (right hand)
OBJECTS = {"mug": "Mug/mug", "bottle": "Bottle/bottle", "knife": "Knife/knife"}


def _vid(k: int) -> str:
    return f"ZY2021080000{k % 10}/H{1 + k % 3}/C{2 + k % 5}/N{10 + k:02d}/S{100 + 7 * k}/s0{k % 6}/T{1 + k % 2}"


def _draw(size: tuple[int, int], obj_colour: tuple[int, int, int], t: float, rng: np.random.Generator):
    """(RGB frame, palette mask, 21 hand keypoints (OpenPose order, pixels)) of one frame at progress t in [0, 1]."""
    w, h = size
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:] = (170, 160, 150)
    rgb[int(0.65 * h) :] = (120, 100, 80)  # the table
    mask = np.zeros((h, w, 3), np.uint8)
    centre = (int(0.4 * w), int(0.55 * h))
    axes = (int(0.12 * w), int(0.18 * h))
    for img, colour in ((rgb, obj_colour), (mask, OBJECT_RGB)):
        cv2.ellipse(img, centre, axes, 0, 0, 360, colour, -1)
    palm = np.array([centre[0] + axes[0] + 0.14 * w * (1.2 - t), centre[1] - 0.02 * h])
    r = 0.06 * w
    kps = np.zeros((21, 2))
    kps[0] = palm + np.array([0.9 * r, 0.4 * r])  # the wrist, towards the forearm
    hand_layer = np.zeros((h, w), np.uint8)
    cv2.circle(hand_layer, tuple(int(v) for v in palm), int(r), 255, -1)
    cv2.line(hand_layer, tuple(int(v) for v in kps[0]), (w + 5, int(kps[0][1] + 0.1 * h)), 255, int(0.9 * r))  # the forearm
    for f in range(5):
        angle = np.radians(200 + 25 * f + rng.normal(0, 3))
        base = palm + 0.8 * r * np.array([np.cos(angle), np.sin(angle)])
        for j in range(4):
            kps[1 + 4 * f + j] = base + (j + 1) * 0.45 * r * np.array([np.cos(angle), np.sin(angle)])
        cv2.line(hand_layer, tuple(int(v) for v in palm), tuple(int(v) for v in kps[4 + 4 * f]), 255, max(2, int(0.3 * r)))
    rgb[hand_layer > 0] = (205, 160, 130)
    mask[hand_layer > 0] = HAND_RGB
    noise = rng.normal(0, 3, rgb.shape)
    return np.clip(rgb + noise, 0, 255).astype(np.uint8), mask, kps


def write_hoi4d(
    root: Path,
    categories: tuple[str, ...] = ("mug", "knife"),
    videos: dict[str, int] | None = None,
    frames: int = 8,
    size: tuple[int, int] = (160, 120),
    seed: int = 0,
) -> dict[str, list[str]]:
    """The tree under `root` (see the module docstring); returns the sequence ids of each split."""
    videos = videos or {"train": 3, "test": 2}
    rng = np.random.default_rng(seed)
    colours = {c: tuple(int(v) for v in rng.integers(30, 230, 3)) for c in categories}
    ids: dict[str, list[str]] = {}
    k = 0
    for split, n in videos.items():
        rows = ["vid_index,frame_number,obj"]
        ids[split] = []
        for category in categories:
            for _ in range(n):
                vid = _vid(k)
                ids[split].append(vid)
                release = root / "HOI4D_release" / vid
                decoded = k == 1  # one video as decoded frames, as the seed's ffmpeg step leaves them
                old_masks = k == 2  # one video with only the older 2Dseg/mask folder
                seg = root / "HOI4D_annotations" / vid / "2Dseg" / ("mask" if old_masks else "shift_mask")
                seg.mkdir(parents=True)
                poses = root / "handpose" / "refinehandpose_right" / vid
                poses.mkdir(parents=True)
                images = []
                for f in range(frames):
                    image, mask, kps = _draw(size, colours[category], f / max(frames - 1, 1), rng)
                    images.append(image)
                    cv2.imwrite(str(seg / f"{f:05d}.png"), mask[..., ::-1])
                    pose = {
                        "poseCoeff": np.concatenate([[np.pi / 2, 0.0, 0.0], rng.normal(0, 0.1, 45)]).astype(np.float32),
                        "beta": rng.normal(0, 0.5, 10).astype(np.float32),
                        "trans": np.array([0.05, 0.02, 0.6], np.float32),
                        "kps2D": kps.astype(np.float32),
                    }
                    (poses / f"{f}.pickle").write_bytes(pickle.dumps(pose, protocol=2))
                    if f >= frames // 2:
                        rows.append(f"{vid},{f},{OBJECTS[category]}")
                if decoded:
                    (release / "align_frames").mkdir(parents=True)
                    for f, image in enumerate(images):
                        cv2.imwrite(str(release / "align_frames" / f"{f + 1:04d}.png"), image[..., ::-1])
                else:
                    (release / "align_rgb").mkdir(parents=True)
                    writer = cv2.VideoWriter(str(release / "align_rgb" / "image.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 15, size)
                    for image in images:
                        writer.write(image[..., ::-1])
                    writer.release()
                k += 1
        (root / "Sets").mkdir(parents=True, exist_ok=True)
        (root / "Sets" / f"{split}.csv").write_text("\n".join(rows) + "\n")
    return ids
