"""The MixHand tree (BVH files of both domains, as the seed's) and its packed form (`mixhand.h5`), then training windows.

Tree (`build_tree`):

    mixamo/<Char>/<Char>_mesh_data.npz     the skinned hand (characters.mesh_data)
    mixamo/<Char>/<clip>.bvh               procedural clips at 60 fps; InterHand2.6M train runs retargeted at 5 fps
    mano/<split>/S<subject>/<run>.bvh      InterHand2.6M runs (5 fps) and procedural clips (60 fps) on that subject's shape
    mano/<split>/S<subject>/<run>.npy      per-frame betas (F, 10), as the seed's
    identities.json                        every character and MANO subject with its domain and split

Every character plays the same clips (index-aligned by file name): the intra-domain test's
ground truth. The MANO subjects' splits are InterHand2.6M's (train / val / test subjects
differ); the characters' are params (a validation character distinct from the test one,
unlike the seed, whose val and test are both SportyGranny).

With `s2h.characters_dir` the Mixamo side is the user's characters instead
(`user_characters`: their own clips and optional meshes, copied in after the hand reader
accepts every clip), and `identities.json` says which (`source`: anny | user).

Packing (`pack`) reads every BVH back through the BVH reader and the hand reader, so what
trains is what the files say; files are subsampled to about 5 fps (60 fps by 12, the seed's
`[::12]`; 30 fps by 6).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from handflow.config import Section
from handflow.errors import InputError
from handflow.papers.s2h import bvh
from handflow.papers.s2h.asm import canonical_rest, from_bs, to_bs
from handflow.papers.s2h.axes import joint_axes
from handflow.papers.s2h.characters import Character, CharacterSpec, build_character, mesh_data, motion_of
from handflow.papers.s2h.hand import FINGERS, N_JOINTS, NON_TIPS, PARENTS, TIPS, forward_kinematics, hand_of
from handflow.papers.s2h.identities import FILE as IDENTITIES
from handflow.papers.s2h.identities import checked_identities, read_identities
from handflow.papers.s2h.mano_side import interhand_runs, local_rotations, mano_hand
from handflow.papers.s2h.motions import FPS, SUBSAMPLE, euler_to_bs, procedural_clip
from handflow.papers.s2h.user_characters import MESH_SUFFIX, UserCharacter, copy_character, hand_mesh
from handflow.storage.atomic import atomic_path
from handflow.storage.hdf5_files import TEXT, Field, json_attribute, open_hdf5, read_fields, texts

SPLITS = ("train", "val", "test")
DOMAINS = ("mixamo", "mano")


@dataclass(frozen=True)
class MotionConfig(Section):
    """params `s2h.motions`."""

    clips: int  # procedural clips every character plays
    keys_per_clip: int
    mano_clips_per_subject: int
    interhand_to_mixamo: bool  # the InterHand2.6M train runs, retargeted by joint angles, join every character's clips


def _mano_motion(hand, rotations: np.ndarray, frame_time: float) -> bvh.Motion:
    """A MANO hand's motion as a BVH with the seed's MANO names (`right_wrist`, `right_index1`, ...)."""
    names = ["right_wrist"] + [f"right_{f.lower()}{j}" for f in FINGERS for j in range(1, 5)]
    channels = [("Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation")]
    channels += [("Xrotation", "Yrotation", "Zrotation")] * (N_JOINTS - 1)
    sk = bvh.Skeleton(names, PARENTS.copy(), hand.offsets.copy(), channels, {int(t): np.zeros(3) for t in TIPS})
    cols = [np.zeros((len(rotations), 3))] + [bvh.euler_channels(rotations[:, k], "XYZ") for k in range(N_JOINTS)]
    return bvh.Motion(sk, np.concatenate(cols, axis=1), frame_time)


MANO_NAMES = {f"right_{f.lower()}{j}": f"RightHand{f}{j}" for f in ("Middle", "Ring", "Pinky", "Index", "Thumb") for j in range(1, 5)}
MANO_NAMES["right_wrist"] = "RightHand"


def subsample_step(frame_time: float) -> int:
    """Frames kept one in this many, to about 5 fps: 12 at 60 fps (the seed's `[::12]`), 6 at 30, 1 at 5 fps."""
    return max(1, round(SUBSAMPLE / (FPS * frame_time)))


def read_hand(path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """(offsets, local rotations, frame time) of a character's or a MANO BVH in the seed's joint order."""
    motion = bvh.read_bvh(path)
    sk = motion.skeleton
    if sk.names and sk.names[0] == "right_wrist":  # the MANO side's names, read through the same hand reader
        sk.names = [MANO_NAMES.get(n, n) for n in sk.names]
    h = hand_of(motion, str(path))
    return h.offsets, h.rotations, h.frame_time


def build_tree(
    out: Path,
    specs: tuple[CharacterSpec, ...],
    cfg: MotionConfig,
    model_dir: Path,
    interhand: dict[str, Path],
    seed: int,
    user: list[UserCharacter] | None = None,
) -> dict[str, float]:
    """The tree (module docstring); with `user` (`s2h.characters_dir`) the Mixamo side is the user's characters, each
    playing its own clips, in place of the anny characters of `specs`."""
    from handflow.hand.model import create

    splits = {s.split for s in specs}
    if user is None and not {"train", "val", "test"} <= splits:
        raise InputError("params", "s2h.characters", f"needs train, val and test characters; has {sorted(splits)}")
    model = create(model_dir, "right")
    mean = model.layer.hand_mean.detach().double().numpy()
    rng = np.random.default_rng(seed)
    clips = {f"clip{i:03d}": euler_to_bs(procedural_clip(rng, cfg.keys_per_clip)) for i in range(cfg.clips)}
    identities, stats = [], {"mixamo_files": 0.0, "mano_files": 0.0}
    runs = {split: interhand_runs(path) for split, path in interhand.items()}
    with atomic_path(out, is_dir=True) as root:
        # MANO side: InterHand2.6M runs and procedural clips per subject, on the subject's mean shape
        retarget = {}
        for split in SPLITS:
            split_runs, shapes = runs[split]
            for subject, betas in sorted(shapes.items()):
                subject_runs = [r for r in split_runs if r.subject == subject]
                hand = mano_hand(model, betas)
                rest_local = canonical_rest(hand.offsets)
                folder = root / "mano" / split / f"S{subject}"
                folder.mkdir(parents=True, exist_ok=True)
                for run in subject_runs:
                    rot = local_rotations(run.hand_pose, mean)
                    bvh.write_bvh(folder / f"{run.name}.bvh", _mano_motion(hand, rot, 1 / 5))
                    np.save(folder / f"{run.name}.npy", run.betas.astype(np.float32))
                    if split == "train":
                        retarget[f"ih_{run.name}"] = to_bs(rot, rest_local, hand.axes)
                for k in range(cfg.mano_clips_per_subject):
                    bs = euler_to_bs(procedural_clip(rng, cfg.keys_per_clip))
                    rot = from_bs(bs, rest_local, hand.axes)
                    bvh.write_bvh(folder / f"proc{k:03d}.bvh", _mano_motion(hand, rot, 1 / FPS))
                    np.save(folder / f"proc{k:03d}.npy", np.repeat(betas[None], len(rot), 0).astype(np.float32))
                stats["mano_files"] += len(subject_runs) + cfg.mano_clips_per_subject
                identities.append(
                    {
                        "name": f"S{subject}",
                        "domain": "mano",
                        "split": split,
                        "folder": f"mano/{split}/S{subject}",
                        "betas": [float(b) for b in betas],
                    }
                )  # the shape its skeleton was made from
        if user is not None:  # the user's characters, their own clips and meshes
            for character in user:
                stats["mixamo_files"] += copy_character(character, root / "mixamo" / character.name, read_hand)
                identities.append(
                    {
                        "name": character.name,
                        "domain": "mixamo",
                        "split": character.split,
                        "folder": f"mixamo/{character.name}",
                        "source": "user",
                        "mesh": character.mesh is not None,
                    }
                )
            specs = ()
        # Mixamo side: every character plays every clip
        for spec in specs:
            character = build_character(spec)
            folder = root / "mixamo" / spec.name
            folder.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(folder / f"{spec.name}_mesh_data.npz", **mesh_data(character))
            _play(folder, character, clips, 1 / FPS)
            if cfg.interhand_to_mixamo:
                _play(folder, character, retarget, 1 / 5)
            stats["mixamo_files"] += len(clips) + (len(retarget) if cfg.interhand_to_mixamo else 0)
            ident = {"name": spec.name, "domain": "mixamo", "split": spec.split, "folder": f"mixamo/{spec.name}"}
            identities.append(ident | {"source": "anny", "mesh": True})
        (root / IDENTITIES).write_text(json.dumps(checked_identities(identities, root / IDENTITIES), indent=1))
    return stats


def _play(folder: Path, character: Character, clips: dict[str, np.ndarray], frame_time: float) -> None:
    rest_local = canonical_rest(character.offsets)
    for name, bs in clips.items():
        bvh.write_bvh(folder / f"{name}.bvh", motion_of(character, from_bs(bs, rest_local, character.axes), frame_time))


def _identity_static(root: Path, ident: dict, offsets: np.ndarray, model) -> tuple[np.ndarray, np.ndarray]:
    """(axes, betas) of an identity: from its rest offsets and skinned mesh (characters) or its mean shape (MANO)."""
    folder = root / ident["folder"]
    if ident["domain"] == "mixamo":
        rest, _ = forward_kinematics(offsets, np.eye(3)[None, None].repeat(21, 1))
        if not ident.get("mesh", True):  # a user's character without a mesh: the skeleton's axes alone
            return joint_axes(rest[0])[0], np.zeros(10)
        mesh = folder / f"{ident['name']}{MESH_SUFFIX}"
        if not mesh.is_file():
            raise InputError(mesh, None, "file not found")
        verts, weights = hand_mesh(mesh, offsets)
        return joint_axes(rest[0], verts, weights)[0], np.zeros(10)
    betas = np.asarray(ident["betas"], np.float64)  # 10 finite numbers (`checked_identities`)
    hand = mano_hand(model, betas)
    if not np.allclose(hand.offsets, offsets, atol=1e-4):
        raise InputError(folder, "OFFSET", "the BVH skeleton is not the MANO hand of the subject's betas")
    return hand.axes, betas


def pack(root: Path, out: Path, model_dir: Path) -> dict[str, float]:
    """Every BVH of the tree read back, as bs-rotations per motion with each identity's static description, into HDF5."""
    from handflow.hand.model import create

    model = create(model_dir, "right")
    identities = read_identities(root)
    offsets_all, axes_all, rest_all, betas_all = [], [], [], []
    bs_all, motion_rows = [], []
    start = 0
    for i, ident in enumerate(identities):
        files = sorted((root / ident["folder"]).glob("*.bvh"))
        if not files:
            raise InputError(root / ident["folder"], None, "no BVH files")
        offsets = None
        for path in files:
            off, rot, frame_time = read_hand(path)
            if offsets is None:
                offsets = off
                axes, betas = _identity_static(root, ident, offsets, model)
                rest_local = canonical_rest(offsets)
            elif not np.allclose(off, offsets, atol=1e-6):
                raise InputError(path, "OFFSET", f"differs from {files[0].name}'s: one identity, one skeleton")
            rot = rot[:: subsample_step(frame_time)]
            bs_all.append(to_bs(rot, rest_local, axes).astype(np.float32))
            motion_rows.append((i, start, len(rot), path.stem))
            start += len(rot)
        offsets_all.append(offsets)
        axes_all.append(axes)
        rest_all.append(rest_local)
        betas_all.append(betas)
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5:
        for key, arr in (("offsets", offsets_all), ("axes", axes_all), ("rest_local", rest_all), ("betas", betas_all)):
            h5.create_dataset(key, data=np.stack(arr).astype(np.float64))
        h5.create_dataset("bs", data=np.concatenate(bs_all), compression="gzip")
        rows = np.array([(i, s, n) for i, s, n, _ in motion_rows], np.int64)
        h5.create_dataset("motions", data=rows)
        h5.create_dataset("clip", data=np.array([c for *_, c in motion_rows], dtype=h5py.string_dtype()))
        h5.attrs["identities"] = json.dumps(identities)
    return {"identities": float(len(identities)), "motions": float(len(motion_rows)), "frames": float(start)}


@dataclass
class MixHand:
    """The packed arrays in memory, with the windows of each domain and split."""

    identities: list[dict]
    offsets: np.ndarray  # (I, 21, 3)
    axes: np.ndarray
    rest_local: np.ndarray
    betas: np.ndarray
    bs: np.ndarray  # (F, 15, 3, 3)
    motions: np.ndarray  # (M, 3) identity, start, length
    clip: list[str]

    @staticmethod
    def load(path: Path) -> MixHand:
        fields = {
            "offsets": Field(("I", N_JOINTS, 3), finite=True),
            "axes": Field(("I", N_JOINTS, 3, 3), finite=True),
            "rest_local": Field(("I", N_JOINTS, 3, 3), finite=True),
            "betas": Field(("I", 10), finite=True),
            "bs": Field(("F", len(NON_TIPS), 3, 3), finite=True),
            "motions": Field(("M", 3), "iu"),
            "clip": Field(("M",), TEXT),
        }
        with open_hdf5(path) as h5:
            identities = checked_identities(json_attribute(h5, path, "identities", list), path)
            arrays = read_fields(h5, path, fields, {"I": len(identities)})
        ident, start, length = arrays["motions"].T
        if ((ident < 0) | (ident >= len(identities)) | (start < 0) | (length < 0) | (start + length > len(arrays["bs"]))).any():
            raise InputError(path, "motions", f"a row outside the {len(identities)} identities or the {len(arrays['bs'])} frames")
        return MixHand(identities, **{k: v for k, v in arrays.items() if k != "clip"}, clip=texts(arrays["clip"]))

    def ids(self, domain: str, split: str) -> list[int]:
        return [i for i, d in enumerate(self.identities) if d["domain"] == domain and d["split"] == split]

    def windows(self, identities: list[int], size: int, stride: int, clips: list[str] | None = None) -> np.ndarray:
        """(N, 2) (identity, first frame) of every window of `size` frames with `stride` in these identities' motions."""
        out = []
        for (ident, start, length), clip in zip(self.motions, self.clip, strict=True):
            if ident in identities and (clips is None or clip in clips):
                out += [(ident, start + s) for s in range(0, length - size + 1, stride)]
        return np.array(out, np.int64).reshape(-1, 2)
