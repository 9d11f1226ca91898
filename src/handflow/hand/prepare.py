"""The `hand_model` stage: a prepared model folder from the open model or from real MANO.

Both switches end in the same files (MANO_RIGHT.npz, MANO_LEFT.npz, sidecar.json),
so every consumer loads them the same way through `handflow.hand.model.create`.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np

from handflow.errors import InputError
from handflow.hand.model_files import (
    fix_left_shapedirs,
    load_mano_pickle,
    mirror_to_left,
    read_model_npz,
    write_model_npz,
)
from handflow.hand.procedural import boundary_loop, seal_faces
from handflow.storage.atomic import atomic_path

# Fingertip vertices of official MANO, InterHand2.6M's choice (J_regressor_mano_ih26m):
# thumb 745, index 317, middle 445, ring 556, pinky 673.
MANO_TIP_IDS = (745, 317, 445, 556, 673)
MANO_HELP = (
    "MANO is licensed and cannot be shipped: register at https://mano.is.tue.mpg.de, download "
    "'Models & Code', and set hand_model_dir in params/global.yaml to the folder holding "
    "MANO_RIGHT.pkl and MANO_LEFT.pkl (mano_v1_2/models)"
)


def open_model_dir() -> Path:
    return Path(str(resources.files("handflow.hand") / "assets" / "open_hand"))


def side_sidecar(arrays: dict[str, np.ndarray], tip_ids: list[int]) -> dict:
    """Tips, part labels and wrist-sealing faces of one side, derived from its own arrays."""
    faces = np.asarray(arrays["f"], np.int64)
    n_verts = arrays["v_template"].shape[0]
    seal = seal_faces(boundary_loop(faces), n_verts)
    vertex_parts = np.r_[np.asarray(arrays["weights"]).argmax(axis=1), 0]
    sealed = np.vstack([faces, seal])
    labels = vertex_parts[sealed]
    # majority label of the three corners; with three different labels, the first corner's
    face_parts = np.where(labels[:, 1] == labels[:, 2], labels[:, 1], labels[:, 0])
    return {
        "tip_vertex_ids": [int(t) for t in tip_ids],
        "vertex_parts": vertex_parts.tolist(),
        "seal_faces": seal.tolist(),
        "face_parts": face_parts.tolist(),
    }


def prepare(hand_model: str, mano_dir: str | None, out_dir: Path) -> dict:
    """Write the prepared folder atomically; return a short description for the log."""
    if hand_model == "open":
        src = open_model_dir()
        right = read_model_npz(src / "MANO_RIGHT.npz")
        left = read_model_npz(src / "MANO_LEFT.npz")
        tips = json.loads((src / "open_hand_sidecar.json").read_text())["tip_vertex_ids"]
        fixed = False
    elif hand_model == "mano":
        if not mano_dir:
            raise InputError("params/global.yaml", "hand_model_dir", f"not set. {MANO_HELP}")
        folder = Path(mano_dir)
        for side in ("RIGHT", "LEFT"):
            if not (folder / f"MANO_{side}.pkl").is_file():
                raise InputError(folder / f"MANO_{side}.pkl", None, f"not found. {MANO_HELP}")
        right = load_mano_pickle(folder / "MANO_RIGHT.pkl")
        left = load_mano_pickle(folder / "MANO_LEFT.pkl")
        fixed = fix_left_shapedirs(left, right)
        tips = list(MANO_TIP_IDS)
    else:
        raise InputError("params/global.yaml", "hand_model", f"unknown value {hand_model!r}")
    sidecar = {"right": side_sidecar(right, tips), "left": side_sidecar(left, tips)}
    with atomic_path(out_dir, is_dir=True) as tmp:
        write_model_npz(tmp / "MANO_RIGHT.npz", right)
        write_model_npz(tmp / "MANO_LEFT.npz", left)
        (tmp / "sidecar.json").write_text(json.dumps(sidecar) + "\n")
    return {"hand_model": hand_model, "n_vertices": int(right["v_template"].shape[0]), "left_shapedirs_fixed": fixed}


def build_open_assets(out_dir: Path, seed: int = 0) -> None:
    """Re-derive the committed open model (needs the `derive` extra)."""
    from handflow.hand.procedural import build

    right, info = build(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_model_npz(out_dir / "MANO_RIGHT.npz", right)
    write_model_npz(out_dir / "MANO_LEFT.npz", mirror_to_left(right))
    (out_dir / "open_hand_sidecar.json").write_text(json.dumps(info, indent=1) + "\n")
