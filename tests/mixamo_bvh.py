"""Mixamo-style characters written as BVH text here, not by the project's writer, with the quirks of real exports.

A numbered namespace (`mixamorig7:`), ZYX rotation channels on every joint and six on the
hips, a full body of 62 joints (spine, head with eyes and a head-top end, both arms, both
legs with toe ends), a right hand with three bones per finger and the tip as the third
bone's End Site (no fourth joints), a left hand with fourth joints, the pinky's channels
constant, 60 or 30 fps. The T-pose has the right arm along -x, palm down (-y), the
character facing +z; fingers curl by a positive Z rotation. Also the seed's `fbx2mesh.py`
mesh file of a character: every group of the body, bone heads in Blender's frame (metres,
z up), so a reader must pick the hand's groups and align the mesh to the BVH itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NS = "mixamorig7:"
FINGERS = ("Thumb", "Index", "Middle", "Ring", "Pinky")
# right-hand knuckle positions from the wrist and phalanx lengths, cm, before the character's scale
KNUCKLES = {
    "Thumb": (-2.5, -1.0, 2.5),
    "Index": (-9.0, 0.0, 2.2),
    "Middle": (-9.5, 0.0, 0.0),
    "Ring": (-9.0, 0.0, -2.0),
    "Pinky": (-8.0, 0.0, -3.8),
}
PHALANGES = {
    "Thumb": (3.5, 3.0, 2.5),
    "Index": (4.2, 2.5, 2.2),
    "Middle": (4.6, 2.8, 2.3),
    "Ring": (4.3, 2.7, 2.2),
    "Pinky": (3.4, 2.0, 1.9),
}
THUMB_DIR = np.array([-1.0, -0.3, 1.0]) / np.linalg.norm([-1.0, -0.3, 1.0])


def _joint(name, offset, children=(), end=None, channels="Zrotation Yrotation Xrotation"):
    return {"name": name, "offset": np.asarray(offset, float), "children": list(children), "end": end, "channels": channels}


def _finger(side: str, finger: str, scale: float, fourth: bool, curl_deg: float) -> dict:
    sign = 1.0 if side == "Right" else -1.0
    direction = THUMB_DIR if finger == "Thumb" else np.array([-1.0, 0.0, 0.0])
    direction = direction * np.array([sign, 1.0, 1.0])
    lengths = np.array(PHALANGES[finger]) * scale
    down = np.array([0.0, -np.sin(np.radians(curl_deg)), 0.0])  # the bind pose's slight curl differs per character
    bones = [lengths[j] * (direction + down) for j in range(3)]
    tip = 0.8 * lengths[2] * direction
    names = [f"{NS}{side}Hand{finger}{j}" for j in range(1, 5)]
    last = _joint(names[3], tip, end=np.array([0.0, 0.0, 0.0])) if fourth else None
    third = _joint(names[2], bones[1], [last] if last else [], end=None if last else tip)
    second = _joint(names[1], bones[0], [third])
    knuckle = np.array(KNUCKLES[finger]) * scale * np.array([sign, 1.0, 1.0])
    return _joint(names[0], knuckle, [second])


def skeleton(scale: float, curl_deg: float) -> dict:
    def arm(side: str, fourth: bool) -> dict:
        sign = 1.0 if side == "Right" else -1.0
        hand = _joint(f"{NS}{side}Hand", (-sign * 25.0 * scale, 0, 0), [_finger(side, f, scale, fourth, curl_deg) for f in FINGERS])
        fore = _joint(f"{NS}{side}ForeArm", (-sign * 27.0 * scale, 0, 0), [hand])
        upper = _joint(f"{NS}{side}Arm", (-sign * 12.0 * scale, 0, 0), [fore])
        return _joint(f"{NS}{side}Shoulder", (-sign * 6.0, 10.0, 0), [upper])

    def leg(side: str) -> dict:
        sign = 1.0 if side == "Right" else -1.0
        toe_end = _joint(f"{NS}{side}Toe_End", (0, 0, 4.0), end=np.zeros(3))
        toe = _joint(f"{NS}{side}ToeBase", (0, -4.0, 12.0), [toe_end])
        foot = _joint(f"{NS}{side}Foot", (0, -40.0, 0), [toe])
        knee = _joint(f"{NS}{side}Leg", (0, -42.0, 0), [foot])
        return _joint(f"{NS}{side}UpLeg", (-sign * 9.0, -5.0, 0), [knee])

    eyes = [_joint(f"{NS}{s}Eye", (sign * 3.0, 8.0, 9.0), end=np.zeros(3)) for s, sign in (("Left", 1), ("Right", -1))]
    head = _joint(f"{NS}Head", (0, 10.0, 2.0), [_joint(f"{NS}HeadTop_End", (0, 18.0, 0), end=np.zeros(3)), *eyes])
    spine2 = _joint(f"{NS}Spine2", (0, 12.0, 0), [_joint(f"{NS}Neck", (0, 14.0, 0), [head]), arm("Left", True), arm("Right", False)])
    spine = _joint(f"{NS}Spine", (0, 10.0, 0), [_joint(f"{NS}Spine1", (0, 11.0, 0), [spine2])])
    return _joint(
        f"{NS}Hips",
        (0, 100.0, 0),
        [spine, leg("Left"), leg("Right")],
        channels="Xposition Yposition Zposition Zrotation Yrotation Xrotation",
    )


def joints(root: dict) -> list[dict]:
    out, stack = [], [root]
    while stack:
        j = stack.pop(0)
        out.append(j)
        stack[:0] = j["children"]
    return out


def _hierarchy(j: dict, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    lines.append(f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {j['name']}")
    lines.append(f"{pad}{{")
    lines.append(f"{pad}  OFFSET {' '.join(f'{v:.6f}' for v in j['offset'])}")
    lines.append(f"{pad}  CHANNELS {len(j['channels'].split())} {j['channels']}")
    for c in j["children"]:
        _hierarchy(c, depth + 1, lines)
    if j["end"] is not None:
        lines += [f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {' '.join(f'{v:.6f}' for v in j['end'])}", f"{pad}  }}"]
    lines.append(f"{pad}}}")


def clip_values(root: dict, frames: int, fps: int, clip: int) -> np.ndarray:
    """(frames, channels): the body swaying, the right fingers curling and spreading (the pinky held constant)."""
    t = np.arange(frames) / fps
    cols = []
    for j in joints(root):
        bare = j["name"].split(":")[-1]
        n = len(j["channels"].split())
        if n == 6:
            cols += [2.0 * np.sin(t), 100.0 + np.sin(2 * t), 5.0 * t, 3.0 * np.sin(t), 10.0 * np.sin(0.5 * t), np.zeros(frames)]
        elif bare.startswith("RightHandPinky"):
            cols += [np.full(frames, 15.0), np.zeros(frames), np.zeros(frames)]  # constant channels, as many exports have
        elif bare.startswith("RightHand") and bare != "RightHand":
            phase = 0.7 * clip + 0.3 * int(bare[-1])
            curl = 35.0 + 30.0 * np.sin(2 * np.pi * (clip + 1) * t / 3.0 + phase)
            spread = 8.0 * np.sin(2 * np.pi * t / 2.0 + phase) if bare.endswith("1") else np.zeros(frames)
            cols += [curl, spread, np.zeros(frames)]
        else:
            cols += [4.0 * np.sin(t + len(cols)), 3.0 * np.cos(0.7 * t), np.zeros(frames)]
    return np.stack(cols, 1)


def write_clip(path: Path, root: dict, frames: int, fps: int, clip: int) -> None:
    lines = ["HIERARCHY"]
    _hierarchy(root, 0, lines)
    values = clip_values(root, frames, fps, clip)
    lines += ["MOTION", f"Frames: {frames}", f"Frame Time: {1 / fps:.7f}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in values]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def world_rest(root: dict) -> dict[str, np.ndarray]:
    """Every joint's rest position (cm, BVH frame), by bare name."""
    out = {}

    def walk(j, base):
        pos = base + j["offset"]
        out[j["name"].split(":")[-1]] = pos
        for c in j["children"]:
            walk(c, pos)

    walk(root, np.zeros(3))
    return out


BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # y up -> z up


def write_seed_mesh(path: Path, root: dict) -> dict[str, np.ndarray]:
    """The seed's `<Char>_mesh_data.npz` of the character: a ring of vertices around every bone of the right hand, skin
    groups for every joint of the body (namespaced), bone heads, all in Blender's frame in metres (z up)."""
    rest = world_rest(root)
    names = [j["name"] for j in joints(root)]
    verts, weight_rows = [], []
    for k, name in enumerate(names):
        bare = name.split(":")[-1]
        if not bare.startswith("RightHand") or bare == "RightHand":
            continue
        child = next((j for j in joints(root) if j["name"] == name), None)
        tip = rest[bare] + (child["children"][0]["offset"] if child["children"] else child["end"])
        axis = (tip - rest[bare]) / np.linalg.norm(tip - rest[bare])
        side = np.cross(axis, [0.0, 1.0, 0.0])
        side /= np.linalg.norm(side)
        up = np.cross(side, axis)
        for s in np.linspace(0.2, 0.8, 3):
            for a in np.linspace(0, 2 * np.pi, 8, endpoint=False):
                # a flat section: wider across the finger (side) than through it (up)
                verts.append(rest[bare] + s * (tip - rest[bare]) + 0.9 * np.cos(a) * side + 0.5 * np.sin(a) * up)
                row = np.zeros(len(names))
                row[k] = 1.0
                weight_rows.append(row)
    verts = np.array(verts)
    to_blender = lambda p: (p @ BLENDER.T) / 100.0 + np.array([0.3, -0.2, 0.0])  # noqa: E731 - metres, z up, shifted
    data = {
        "verts": to_blender(verts).astype(np.float32),
        "faces": np.array([[i, i + 1, i + 2] for i in range(0, len(verts) - 2, 3)], np.int64),
        "edges": np.zeros((0, 2), np.int64),
        "weight": np.array(weight_rows, np.float32),
        "vgrp_label": np.array(names),
        "vgrp_cors": to_blender(np.array([rest[n.split(":")[-1]] for n in names])).astype(np.float32),
        "vgrp_parents": np.full(len(names), -1),
        "bone_names": np.array(names),
        "bone_cors": to_blender(np.array([rest[n.split(":")[-1]] for n in names])).astype(np.float32),
        "bone_parents": np.full(len(names), -1),
    }
    np.savez(path, **data)
    return {"verts_bvh": verts - rest["RightHand"]}


def write_characters(
    root: Path, specs: dict[str, tuple[float, float, int]], clips: int, seconds: float, mesh: tuple[str, ...] = ()
) -> None:
    """`root/<Char>/clip<k>.bvh` for each character name -> (scale, bind-pose curl in degrees, fps)."""
    for name, (scale, curl, fps) in specs.items():
        sk = skeleton(scale, curl)
        for k in range(clips):
            write_clip(root / name / f"clip{k}.bvh", sk, int(seconds * fps), fps, k)
        if name in mesh:
            write_seed_mesh(root / name / f"{name}_mesh_data.npz", sk)
