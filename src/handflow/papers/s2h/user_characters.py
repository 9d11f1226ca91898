"""The user's own Mixamo characters (`s2h.characters_dir`): found, split, checked and copied into the MixHand tree.

The seed's characters are Mixamo FBX files converted to BVH by Blender (its DATA.md); a
researcher brings them as

    <characters_dir>/<Char>/*.bvh               the character's clips (Mixamo animations), or
    <characters_dir>/<Char>.bvh                 one clip per character
    <characters_dir>/<Char>/<Char>_mesh_data.npz (or beside <Char>.bvh) the skinned mesh, optional

The BVH rest pose (the offsets) is the character's; any namespace (`mixamorig:`,
`mixamorig7:`), rotation order and channel count is read; the hand is the seed's 21 joints
(a fourth finger joint or the third's End Site as the tip; eyes, toe ends and other joints
elsewhere in the body are ignored). Every clip of a character must have the same hand
skeleton. Characters play their own clips only: the intra-domain test pairs the clips two
characters share by file name (Mixamo's animations have the same names on every character).

The optional mesh is the seed's `fbx2mesh.py` output (`verts`, `faces`, `weight` V x groups
with group names in `vgrp_label`, bone heads in `bone_cors` named by `bone_names`) or ours
(`weight` V x 21 in the hand's order, `bone_names` the 21 joints): the hand's groups are
picked by name and the mesh is brought into the BVH's wrist frame by the similarity that
maps its hand bones' heads onto the BVH's rest joints (Umeyama, roma), so any scene unit or
up axis of the export is taken out. Without a mesh the hand's axes come from the skeleton
alone (twist along the bone, splay from the palm normal; `axes.joint_axes`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handflow.errors import InputError
from handflow.papers.s2h.bvh import bare_name
from handflow.papers.s2h.hand import N_JOINTS, TIPS, forward_kinematics, mixamo_names

SPLITS = ("train", "val", "test")
MESH_SUFFIX = "_mesh_data.npz"


@dataclass(frozen=True)
class UserCharacter:
    name: str
    clips: tuple[Path, ...]  # BVH files
    mesh: Path | None
    split: str


def find_characters(root: Path, splits: dict[str, str] | None, source: str) -> list[UserCharacter]:
    """Every character of `root` (sorted by name) with its split: `splits` by name, else by sorted name the last one
    test, the one before it validation, the rest training. At least three characters."""
    if not root.is_dir():
        raise InputError(root, None, "s2h.characters_dir is not a folder")
    found: dict[str, tuple[tuple[Path, ...], Path | None]] = {}
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            clips = tuple(sorted(entry.glob("*.bvh")))
            if clips:
                mesh = entry / f"{entry.name}{MESH_SUFFIX}"
                found[entry.name] = (clips, mesh if mesh.is_file() else None)
        elif entry.suffix == ".bvh":
            mesh = entry.with_name(f"{entry.stem}{MESH_SUFFIX}")
            if entry.stem in found:
                raise InputError(entry, None, f"character {entry.stem} is both a folder and a file")
            found[entry.stem] = ((entry,), mesh if mesh.is_file() else None)
    names = sorted(found)
    if len(names) < 3:
        raise InputError(root, None, f"{len(names)} characters with BVH files; training, validation and test need at least 3")
    if splits:
        unknown = sorted(set(splits) - set(names))
        if unknown:
            raise InputError(source, f"character_splits.{unknown[0]}", f"no such character in {root}")
        for name, split in splits.items():
            if split not in SPLITS:
                raise InputError(source, f"character_splits.{name}", f"{split!r}: one of {list(SPLITS)}")
        chosen = {n: splits.get(n, "train") for n in names}
        missing = [s for s in SPLITS if s not in chosen.values()]
        if missing:
            raise InputError(source, "character_splits", f"no {missing[0]} character")
    else:
        chosen = {n: "train" for n in names[:-2]} | {names[-2]: "val", names[-1]: "test"}
    return [UserCharacter(n, found[n][0], found[n][1], chosen[n]) for n in names]


def copy_character(character: UserCharacter, folder: Path, read_hand) -> int:
    """The character's clips (each read through the hand reader: a rejected hand is one line naming the file and joint,
    and every clip must share the first one's hand skeleton) and mesh, copied into `folder`. Returns the clip count."""
    folder.mkdir(parents=True, exist_ok=True)
    first = None
    for clip in character.clips:
        offsets, _, _ = read_hand(clip)
        if first is None:
            first = offsets
        elif not np.allclose(offsets, first, atol=1e-6):
            first_name = character.clips[0].name
            raise InputError(clip, "OFFSET", f"the hand's rest offsets differ from {first_name}'s: one character, one skeleton")
        shutil.copyfile(clip, folder / clip.name)
    if character.mesh is not None:
        hand_mesh(character.mesh, first)  # checked here, so a bad mesh stops the tree, not the packing
        shutil.copyfile(character.mesh, folder / f"{character.name}{MESH_SUFFIX}")
    return len(character.clips)


def _array(data, path: Path, key: str, ndim: int, kinds: str) -> np.ndarray:
    if key not in data:
        raise InputError(path, key, "missing")
    a = data[key]
    if a.ndim != ndim or a.dtype.kind not in kinds:
        raise InputError(path, key, f"{a.dtype} of shape {a.shape}, expected {ndim} dimensions")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise InputError(path, key, "holds NaN or infinity")
    return a


def hand_mesh(path: Path, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(V, 3) vertices in the wrist frame of a hand with BVH rest `offsets` (21, 3), and (V, 21) skin weights in the
    hand's joint order (tips 0), from a `<Char>_mesh_data.npz` (see the module docstring)."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(path, None, f"not a readable .npz ({exc.__class__.__name__})") from None
    with data:
        verts = _array(data, path, "verts", 2, "f").astype(np.float64)
        weight = _array(data, path, "weight", 2, "f").astype(np.float64)
        groups = [bare_name(str(n)) for n in _array(data, path, "vgrp_label" if "vgrp_label" in data else "bone_names", 1, "UO")]
        bones = [bare_name(str(n)) for n in _array(data, path, "bone_names", 1, "UO")]
        cors = _array(data, path, "bone_cors", 2, "f").astype(np.float64)
    if verts.shape[1] != 3 or weight.shape[0] != len(verts):
        raise InputError(path, "weight", f"shape {weight.shape} for {len(verts)} vertices of shape {verts.shape}")
    if weight.shape[1] != len(groups):
        raise InputError(path, "vgrp_label", f"{len(groups)} group names for {weight.shape[1]} weight columns")
    if cors.shape != (len(bones), 3):
        raise InputError(path, "bone_cors", f"shape {cors.shape}, expected ({len(bones)}, 3)")
    names = mixamo_names()
    hand = np.zeros((len(verts), N_JOINTS))
    for k, name in enumerate(names):
        if k not in TIPS and name in groups:
            hand[:, k] = weight[:, groups.index(name)]
    if not hand.any():
        raise InputError(path, "vgrp_label", f"no vertex group of the hand's joints ({names[1]}, ...)")
    # the similarity taking the mesh's hand bone heads onto the BVH's rest joints (wrist frame)
    rest, _ = forward_kinematics(offsets, np.eye(3)[None, None].repeat(N_JOINTS, 1))
    pairs = [(cors[bones.index(n)], rest[0][k]) for k, n in enumerate(names) if k not in TIPS and n in bones]
    if len(pairs) < 4:
        raise InputError(path, "bone_names", f"{len(pairs)} of the hand's joints named; at least 4 are needed to place the mesh")
    src, dst = (np.array(p) for p in zip(*pairs, strict=True))
    rot, trans, scale = _similarity(src, dst)
    placed = scale * verts @ rot.T + trans
    residual = np.abs(scale * src @ rot.T + trans - dst).max()
    if residual > 0.05 * np.linalg.norm(dst[1:] - dst[:1], axis=1).max():
        raise InputError(path, "bone_cors", f"the mesh's hand bones are not the BVH's rest hand (off by {residual:.3g} when aligned)")
    return placed, hand


def _similarity(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """R, t, s with s R src + t ~ dst (roma's Umeyama, in float64)."""
    import roma
    import torch

    rot, trans, scale = roma.rigid_points_registration(torch.as_tensor(src), torch.as_tensor(dst), compute_scaling=True)
    return rot.numpy(), trans.numpy(), float(scale)
