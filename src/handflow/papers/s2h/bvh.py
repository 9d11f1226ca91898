"""BVH motion files: read and write with every joint's channels and rotation order kept, so a file round-trips exactly.

Why not a BVH library: `bvhio` (the maintained one on PyPI) turns each keyframe into a
float32 glm quaternion at read time and writes ZXY rotation channels only, so neither a
file's channel layout nor its values come back; the seed's own parser (deep-motion-editing's
`BVH_mod`) converts every file to XYZ Euler. Here the raw channel values are the motion
(`Motion.values`, float64), rotations are derived from them with each joint's own order,
and numbers are written with Python's shortest round-trip repr: read(write(m)) == m bit
for bit.

Channels follow the BVH convention: rotation channels are intrinsic rotations applied in
the listed order (R = R_c1 R_c2 R_c3, scipy's upper-case orders), in degrees; 3, 6 or 9
channels per joint (rotations, positions + rotations, or a scale triple as Mixamo exports
carry). Names keep their namespace (`mixamorig:RightHand`); `bare_name` strips it.

Every malformed file is one `InputError` line naming the file and the field: an unknown
channel, a joint name given twice (the hierarchy would be cyclic or ambiguous by name), a
frame count the motion does not reach, a non-numeric value, a row of the wrong length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from handflow.errors import InputError
from handflow.storage.atomic import atomic_write_text

ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
SCALE_CHANNELS = ("Xscale", "Yscale", "Zscale")
KNOWN_CHANNELS = frozenset(ROTATION_CHANNELS + POSITION_CHANNELS + SCALE_CHANNELS)


@dataclass
class Skeleton:
    names: list[str]
    parents: np.ndarray  # (J,) int, -1 for the root
    offsets: np.ndarray  # (J, 3) float64, in the parent's frame
    channels: list[tuple[str, ...]]
    end_sites: dict[int, np.ndarray] = field(default_factory=dict)  # joint index -> End Site offset

    def index(self, name: str) -> int:
        return self.names.index(name)

    def rotation_order(self, joint: int) -> str:
        """The joint's rotation channels as an intrinsic scipy order ('ZXY'), '' when it has none."""
        return "".join(c[0] for c in self.channels[joint] if c in ROTATION_CHANNELS)

    @property
    def channel_starts(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum([len(c) for c in self.channels])[:-1]]).astype(int)


@dataclass
class Motion:
    skeleton: Skeleton
    values: np.ndarray  # (F, sum of channels) float64, as in the file
    frame_time: float

    @property
    def n_frames(self) -> int:
        return len(self.values)

    def channel(self, joint: int, name: str) -> np.ndarray | None:
        chans = self.skeleton.channels[joint]
        if name not in chans:
            return None
        return self.values[:, self.skeleton.channel_starts[joint] + chans.index(name)]

    def local_rotations(self) -> np.ndarray:
        """(F, J, 3, 3) local rotation matrices; identity for a joint without rotation channels."""
        sk = self.skeleton
        out = np.broadcast_to(np.eye(3), (self.n_frames, len(sk.names), 3, 3)).copy()
        for j in range(len(sk.names)):
            order = sk.rotation_order(j)
            if order:
                angles = np.stack([self.channel(j, f"{axis}rotation") for axis in order], axis=1)
                out[:, j] = Rotation.from_euler(order, angles, degrees=True).as_matrix()
        return out


def bare_name(name: str) -> str:
    """`mixamorig:RightHand` -> `RightHand` (any namespace before the last colon)."""
    return name.rsplit(":", 1)[-1]


def _number(token: str, path: Path, where: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise InputError(path, where, f"{token!r} is not a number") from None
    if not np.isfinite(value):
        raise InputError(path, where, f"{token!r} is not finite")
    return value


class _Tokens:
    """Whitespace tokens of the HIERARCHY part with their line numbers, for errors that say where."""

    def __init__(self, lines: list[str], path: Path) -> None:
        self.items = [(tok, i + 1) for i, line in enumerate(lines) for tok in line.split()]
        self.pos, self.path = 0, path

    def next(self, what: str) -> tuple[str, int]:
        if self.pos >= len(self.items):
            raise InputError(self.path, "HIERARCHY", f"ends early: expected {what}")
        self.pos += 1
        return self.items[self.pos - 1]

    def expect(self, word: str) -> int:
        tok, line = self.next(word)
        if tok != word:
            raise InputError(self.path, f"HIERARCHY line {line}", f"expected {word!r}, found {tok!r}")
        return line


def _parse_joint(tokens: _Tokens, name: str, parent: int, sk: Skeleton) -> None:
    path = tokens.path
    if name in sk.names:
        raise InputError(path, f"JOINT {name}", "named twice: the hierarchy would be cyclic or ambiguous by name")
    index = len(sk.names)
    sk.names.append(name)
    parents, offsets = [*sk.parents, parent], [*sk.offsets, None]
    tokens.expect("{")
    tokens.expect("OFFSET")
    offsets[index] = np.array([_number(tokens.next("an offset")[0], path, f"OFFSET of {name}") for _ in range(3)])
    tokens.expect("CHANNELS")
    tok, line = tokens.next("a channel count")
    count = int(_number(tok, path, f"CHANNELS of {name}"))
    if count not in (0, 3, 6, 9):
        raise InputError(path, f"CHANNELS of {name}", f"{count} channels; 3, 6 or 9 are read")
    chans = tuple(tokens.next("a channel")[0] for _ in range(count))
    unknown = [c for c in chans if c not in KNOWN_CHANNELS]
    if unknown or len(set(chans)) != len(chans):
        raise InputError(path, f"CHANNELS of {name}", f"unknown or repeated channels {list(unknown or chans)}")
    sk.parents, sk.offsets = np.array(parents), offsets
    sk.channels.append(chans)
    while True:
        tok, line = tokens.next("JOINT, End Site or '}'")
        if tok == "}":
            return
        if tok == "JOINT":
            _parse_joint(tokens, tokens.next("a joint name")[0], index, sk)
        elif tok == "End":
            tokens.expect("Site")
            tokens.expect("{")
            tokens.expect("OFFSET")
            sk.end_sites[index] = np.array([_number(tokens.next("an offset")[0], path, f"End Site of {name}") for _ in range(3)])
            tokens.expect("}")
        else:
            raise InputError(path, f"HIERARCHY line {line}", f"expected JOINT, End Site or '}}', found {tok!r}")


def read_bvh(path: Path | str) -> Motion:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"not a readable text file ({exc.__class__.__name__})") from None
    lines = text.splitlines()
    split = next((i for i, line in enumerate(lines) if line.strip() == "MOTION"), None)
    if not lines or lines[0].strip() != "HIERARCHY":
        raise InputError(path, "HIERARCHY", "the file does not start with HIERARCHY")
    if split is None:
        raise InputError(path, "MOTION", "missing")
    tokens = _Tokens(lines[1:split], path)
    tokens.items = [(tok, line + 1) for tok, line in tokens.items]
    sk = Skeleton([], np.zeros(0, int), np.zeros((0, 3)), [])
    tokens.expect("ROOT")
    _parse_joint(tokens, tokens.next("the root's name")[0], -1, sk)
    if tokens.pos != len(tokens.items):
        raise InputError(path, "HIERARCHY", f"more than one root (found {tokens.items[tokens.pos][0]!r} after the root's '}}')")
    sk.offsets = np.stack(sk.offsets)
    header = [line.strip() for line in lines[split + 1 : split + 3]]
    frames = re.fullmatch(r"Frames:\s*(\S+)", header[0]) if header else None
    ftime = re.fullmatch(r"Frame Time:\s*(\S+)", header[1]) if len(header) > 1 else None
    if frames is None or ftime is None:
        raise InputError(path, "MOTION", "expected 'Frames: N' and 'Frame Time: T' lines")
    n_frames = int(_number(frames.group(1), path, "Frames"))
    frame_time = _number(ftime.group(1), path, "Frame Time")
    if n_frames < 0 or frame_time <= 0:
        raise InputError(path, "Frames", f"{n_frames} frames of {frame_time} s")
    rows = [line for line in lines[split + 3 :] if line.strip()]
    if len(rows) != n_frames:
        raise InputError(path, "MOTION", f"{len(rows)} frame rows, the header says {n_frames} (truncated or padded)")
    width = sum(len(c) for c in sk.channels)
    values = np.empty((n_frames, width))
    for f, row in enumerate(rows):
        toks = row.split()
        if len(toks) != width:
            raise InputError(path, f"MOTION frame {f}", f"{len(toks)} values, {width} channels")
        values[f] = [_number(t, path, f"MOTION frame {f}") for t in toks]
    return Motion(sk, values, frame_time)


def _fmt(values) -> str:
    return " ".join(repr(float(v)) for v in values)


def bvh_text(motion: Motion) -> str:
    sk = motion.skeleton
    children = {j: [c for c in range(len(sk.names)) if sk.parents[c] == j] for j in range(len(sk.names))}
    out = ["HIERARCHY"]

    def joint(j: int, depth: int) -> None:
        pad = "  " * depth
        out.append(f"{pad}{'ROOT' if sk.parents[j] < 0 else 'JOINT'} {sk.names[j]}")
        out.append(f"{pad}{{")
        out.append(f"{pad}  OFFSET {_fmt(sk.offsets[j])}")
        out.append(f"{pad}  CHANNELS {len(sk.channels[j])}{''.join(' ' + c for c in sk.channels[j])}")
        for c in children[j]:
            joint(c, depth + 1)
        if j in sk.end_sites:
            out.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {_fmt(sk.end_sites[j])}", f"{pad}  }}"])
        out.append(f"{pad}}}")

    joint(int(np.flatnonzero(sk.parents < 0)[0]), 0)
    out.extend(["MOTION", f"Frames: {motion.n_frames}", f"Frame Time: {motion.frame_time!r}"])
    out.extend(_fmt(row) for row in motion.values)
    return "\n".join(out) + "\n"


def write_bvh(path: Path | str, motion: Motion) -> None:
    atomic_write_text(path, bvh_text(motion))


def euler_channels(rotations: np.ndarray, order: str) -> np.ndarray:
    """(F, 3) angles in degrees, in `order`'s channel order, of (F, 3, 3) rotation matrices (inverse of `local_rotations`)."""
    return Rotation.from_matrix(rotations).as_euler(order, degrees=True)
