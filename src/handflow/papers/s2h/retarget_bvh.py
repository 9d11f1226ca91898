"""`python -m handflow s2h retarget`: one hand motion onto one Mixamo character, BVH in, BVH out (the seed's
`run.visualize_mixhand` role, without its viewer).

The source is a BVH motion with its hand: a MANO run as the tree writes it (`right_wrist`,
`right_index1`, ... with per-frame or one set of betas from a `.npy`) or a Mixamo
character's clip. The target is a Mixamo character's BVH: its skeleton, its rest hand
(the offsets) and, where the file has them, its body's frames. The output is the target's
file with the hand retargeted: the hierarchy and every channel of every joint that is not a
rotating finger joint copied byte for byte (the body, the wrist, the tips, position and
scale channels), the 15 finger joints' rotation channels written in each joint's own order;
the source's frame count and frame time. Where the target file has a different frame count,
its first frame's body is held for every frame (a character's rest file has one).

The network runs over windows of the length it trained on (the last one padded by
repeating the final frame), all windows in one batch; the hands' static descriptions are
made as the packing makes them (axes from a skinned mesh where one is given, from the
skeleton alone otherwise; MANO's from the hand model and the betas).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handflow.errors import InputError
from handflow.papers.s2h import bvh
from handflow.papers.s2h.asm import canonical_rest, from_bs, to_bs
from handflow.papers.s2h.axes import joint_axes
from handflow.papers.s2h.dataset import MixHand, read_hand
from handflow.papers.s2h.hand import N_JOINTS, NON_TIPS, forward_kinematics, mixamo_names
from handflow.papers.s2h.identities import read_identities
from handflow.papers.s2h.networks import load_network
from handflow.papers.s2h.retargeting import Hands, retarget
from handflow.papers.s2h.user_characters import hand_mesh
from handflow.storage.atomic import atomic_write_text


def tree_defaults(tree: Path) -> tuple[Path, Path, np.ndarray]:
    """(source, target, the source subject's betas) from a MixHand tree: its first MANO test run, its test character's
    first clip, and the shape that subject's skeleton was made from (`identities.json`)."""
    identities = read_identities(tree)
    picks = []
    for domain in ("mano", "mixamo"):
        ident = next((d for d in identities if d["domain"] == domain and d["split"] == "test"), None)
        clips = sorted((tree / ident["folder"]).glob("*.bvh")) if ident else []
        if not clips:
            raise InputError(tree / "identities.json", domain, "no test identity with a BVH clip")
        picks.append((clips[0], ident))
    return picks[0][0], picks[1][0], np.asarray(picks[0][1]["betas"], np.float64)


def beside(path: Path, name: str) -> Path | None:
    """A file named `name` in `path`'s folder, if there is one (a run's betas, a character's mesh)."""
    found = path.parent / name
    return found if found.is_file() else None


@dataclass(frozen=True)
class HandIdentity:
    """What the network needs of one hand: its domain, rest offsets, axes and betas (zeros for a character)."""

    domain: str
    offsets: np.ndarray
    axes: np.ndarray
    betas: np.ndarray


def character_identity(offsets: np.ndarray, mesh: Path | None) -> HandIdentity:
    rest, _ = forward_kinematics(offsets, np.eye(3)[None, None].repeat(N_JOINTS, 1))
    verts, weights = hand_mesh(mesh, offsets) if mesh is not None else (None, None)
    return HandIdentity("mixamo", offsets, joint_axes(rest[0], verts, weights)[0], np.zeros(10))


def read_betas(path: Path) -> np.ndarray:
    """(10,) betas from a `.npy` of (10,) or per-frame (F, 10) values (their mean: one skeleton per run)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(path, None, f"not a readable .npy ({exc.__class__.__name__})") from None
    if not isinstance(loaded, np.ndarray):  # an .npz under the name loads as an archive
        loaded.close()
        raise InputError(path, None, "an .npz archive, expected one .npy array")
    if loaded.dtype.kind not in "iuf":  # text would parse, complex would lose its imaginary part
        raise InputError(path, None, f"dtype {loaded.dtype}, expected real numbers")
    betas = loaded.astype(np.float64)
    if betas.ndim == 2:
        betas = betas.mean(0)
    if betas.shape != (10,) or not np.isfinite(betas).all():
        raise InputError(path, None, f"shape {betas.shape} or non-finite values; expected (10,) or (F, 10) finite betas")
    return betas


def mano_identity(path: Path, offsets: np.ndarray, betas: np.ndarray | None, model_dir: Path | None) -> HandIdentity:
    """A MANO source: its axes from the hand model at `betas`. The BVH's own offsets are kept (they are the skeleton the
    motion was written on); one line if they are not a hand of about that shape (the wrong betas or hand model)."""
    from handflow.hand.model import create
    from handflow.papers.s2h.mano_side import mano_hand

    if betas is None or model_dir is None:
        raise InputError(path, None, "a MANO source needs its betas (--betas, .npy) and the hand model (--hand-model)")
    hand = mano_hand(create(model_dir, "right"), betas)
    scale = np.linalg.norm(hand.offsets[1])
    if np.abs(hand.offsets - offsets).max() > 0.1 * scale:
        raise InputError(path, "OFFSET", "the BVH skeleton is not a MANO hand of these betas (more than 10 % off)")
    return HandIdentity("mano", offsets, hand.axes, betas)


def _hands(source: HandIdentity, target: HandIdentity) -> Hands:
    ids = (source, target)
    data = MixHand(
        [{"name": str(i), "domain": h.domain, "split": "test"} for i, h in enumerate(ids)],
        np.stack([h.offsets for h in ids]),
        np.stack([h.axes for h in ids]),
        np.stack([canonical_rest(h.offsets) for h in ids]),
        np.stack([h.betas for h in ids]),
        np.zeros((0, 15, 3, 3)),
        np.zeros((0, 3), np.int64),
        [],
    )
    return Hands(data)


@torch.no_grad()
def retarget_rotations(net, window: int, source: HandIdentity, rotations: np.ndarray, target: HandIdentity) -> np.ndarray:
    """(F, 21, 3, 3) local rotations of the target's hand for the source's (F, 21, 3, 3)."""
    hands = _hands(source, target)
    bs = to_bs(rotations, canonical_rest(source.offsets), source.axes)
    n = len(bs)
    padded = np.concatenate([bs, np.repeat(bs[-1:], (-n) % window, 0)])
    windows = torch.as_tensor(padded.reshape(-1, window, 15, 3, 3), dtype=torch.float32)
    b = len(windows)
    pred, _ = retarget(net, hands, torch.zeros(b, dtype=torch.long), windows, torch.ones(b, dtype=torch.long), "mixamo")
    pred_bs = pred.double().numpy().reshape(-1, 15, 3, 3)[:n]
    return from_bs(pred_bs, canonical_rest(target.offsets), target.axes)


def write_retargeted(target: bvh.Motion, target_path: Path, local: np.ndarray, frame_time: float, out: Path) -> None:
    """The target file with the finger joints' rotation channels replaced (see the module docstring): its hierarchy and
    every other channel's text kept byte for byte (the file was read by `bvh.read_bvh`: one frame per line)."""
    sk = target.skeleton
    n = len(local)
    lines = target_path.read_text().splitlines()
    split = next(i for i, line in enumerate(lines) if line.strip() == "MOTION")
    rows = [line.split() for line in lines[split + 3 :] if line.strip()]
    rows = rows if len(rows) == n else [list(rows[0]) for _ in range(n)]
    bare = [bvh.bare_name(name) for name in sk.names]
    names = mixamo_names()
    for k in NON_TIPS:
        j = bare.index(names[k])
        order = sk.rotation_order(j)
        if len(order) != 3:
            raise InputError(target_path, f"joint {sk.names[j]}", f"{len(order)} rotation channels; a finger joint needs 3")
        angles = bvh.euler_channels(local[:, k], order)
        for a, axis in enumerate(order):
            column = sk.channel_starts[j] + sk.channels[j].index(f"{axis}rotation")
            for row, value in zip(rows, angles[:, a], strict=True):
                row[column] = repr(float(value))
    header = [*lines[: split + 1], f"Frames: {n}", f"Frame Time: {frame_time!r}"]
    atomic_write_text(out, "\n".join(header + [" ".join(row) for row in rows]) + "\n")


def retarget_file(
    model: Path,
    kind: str,
    source: Path,
    target: Path,
    out: Path,
    betas: np.ndarray | None = None,
    model_dir: Path | None = None,
    source_mesh: Path | None = None,
    target_mesh: Path | None = None,
    gif: Path | None = None,
    gif_frames: int = 24,
) -> dict[str, float]:
    """`source`'s hand motion onto `target`'s character, written to `out` (and, with `gif`, the two hands side by side)."""
    net, ckpt = load_network(model, kind)
    window = int(ckpt["window"])
    offsets, rotations, frame_time = read_hand(source)
    is_mano = bvh.read_bvh(source).skeleton.names[0] == "right_wrist"
    src = mano_identity(source, offsets, betas, model_dir) if is_mano else character_identity(offsets, source_mesh)
    target_motion = bvh.read_bvh(target)
    tgt_offsets, _, _ = read_hand(target)
    tgt = character_identity(tgt_offsets, target_mesh)
    local = retarget_rotations(net, window, src, rotations, tgt)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_retargeted(target_motion, target, local, frame_time, out)
    if gif is not None:
        names = (f"{source.parent.name}/{source.stem}", f"{target.parent.name}/{target.stem}")
        write_stick_gif(gif, (offsets, rotations), (tgt_offsets, local), frame_time, gif_frames, names)
    return {"frames": float(len(local)), "windows": float(-(-len(local) // window)), "source_is_mano": float(is_mano)}


def _hand_view(offsets: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """(F, 21, 2) the hand's joints seen from its palm side, in the wrist's own frame (the arm's motion removed), in units
    of the rest hand's length: x along wrist -> middle knuckle, y across the palm."""
    pos, glob = forward_kinematics(offsets, rotations)
    local = np.einsum("fji,fkj->fki", glob[:, 0], pos - pos[:, :1])  # R_wrist^T (p - p_wrist)
    rest, _ = forward_kinematics(offsets, np.broadcast_to(np.eye(3), (1, N_JOINTS, 3, 3)).copy())
    rest = rest[0] - rest[0, 0]
    ahead = rest[1] / np.linalg.norm(rest[1])  # the middle finger's knuckle (hand.FINGERS: middle, ring, pinky, index, thumb)
    across = rest[13] - rest[9]  # index knuckle minus pinky knuckle
    across = across - (across @ ahead) * ahead
    across /= np.linalg.norm(across)
    length = np.linalg.norm(rest, axis=1).max()
    return np.stack([local @ ahead, local @ across], -1) / length


def write_stick_gif(
    out: Path, source: tuple, target: tuple, frame_time: float, frames: int, names: tuple[str, str], side: int = 200
) -> int:
    """The source's and the retargeted hand's joints, side by side, over `frames` frames spread across the clip at its own
    speed: a check of the retargeting that needs no mesh (`s2h figure` renders the skinned meshes of the test character)."""
    import cv2
    from PIL import Image

    from handflow.papers.s2h.hand import PARENTS
    from handflow.storage.atomic import atomic_path

    views = [_hand_view(*source), _hand_view(*target)]
    n = len(views[0])
    picks = np.unique(np.linspace(0, n - 1, min(frames, n)).round().astype(int))
    step = max(1, (n - 1) // max(1, len(picks) - 1))
    tiles = []
    for f in picks:
        panels = []
        for view, name in zip(views, names, strict=True):
            img = np.full((side, side, 3), 255, np.uint8)
            uv = (view[f] * np.array([1, -1]) * side * 0.42 + np.array([side * 0.2, side * 0.5])).round().astype(int)
            for j in range(1, N_JOINTS):
                cv2.line(img, tuple(int(v) for v in uv[PARENTS[j]]), tuple(int(v) for v in uv[j]), (60, 90, 160), 2, cv2.LINE_AA)
            for p in uv:
                cv2.circle(img, tuple(int(v) for v in p), 3, (200, 80, 40), -1, cv2.LINE_AA)
            cv2.putText(img, name[:24], (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
            panels.append(img)
        tiles.append(Image.fromarray(np.concatenate(panels, axis=1)))
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        duration = max(20, round(1000 * frame_time * step))
        tiles[0].save(tmp, format="GIF", save_all=True, append_images=tiles[1:], duration=duration, loop=0)
    return len(tiles)
