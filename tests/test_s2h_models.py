"""Semantics2Hands' learning side: the torch kinematics equal the numpy ones, the Euler read-out keeps bends past the
seed's 39.5-degree clamp, the MANO hand is MANO, runs are contiguous, the metrics' bounds are the seed's, and a damaged
tree is one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from handflow.errors import InputError
from handflow.papers.s2h import asm, hand
from handflow.papers.s2h import torch_kin as tk
from handflow.papers.s2h.dataset import MixHand, pack
from handflow.papers.s2h.evaluate import evaluate_method
from handflow.papers.s2h.mano_side import SEED_FROM_OPENPOSE, interhand_runs, local_rotations, mano_hand
from handflow.papers.s2h.motions import KEYPOSES, euler_to_bs


def test_torch_kinematics_equal_numpy(s2h_characters):
    c = s2h_characters[1]
    rest_local = asm.canonical_rest(c.offsets)
    bs = Rotation.from_rotvec(np.random.default_rng(0).normal(0, 0.4, (2 * 3 * 15, 3))).as_matrix().reshape(2, 3, 15, 3, 3)
    f64 = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    rot_t = tk.from_bs(f64(bs), f64(rest_local)[None].expand(2, -1, -1, -1), f64(c.axes)[None].expand(2, -1, -1, -1))
    pos_t, glob_t = tk.forward_kinematics(f64(c.offsets)[None].expand(2, -1, -1), rot_t)
    finger_t, palm_t = tk.asm(pos_t, glob_t, f64(c.axes)[None].expand(2, -1, -1, -1))
    for b in range(2):
        rot = asm.from_bs(bs[b], rest_local, c.axes)
        pos, glob = hand.forward_kinematics(c.offsets, rot)
        finger, palm = asm.asm(pos, glob, c.axes)
        assert np.allclose(rot_t[b].numpy(), rot) and np.allclose(pos_t[b].numpy(), pos)
        assert np.allclose(finger_t[b].numpy(), finger) and np.allclose(palm_t[b].numpy(), palm)
    six = tk.matrix_to_rot6d(f64(bs))
    assert torch.allclose(tk.rot6d_to_matrix(six), f64(bs))


@pytest.mark.parametrize("bend", [10.0, 39.0, 60.0, 85.0, 100.0, 120.0, -100.0])
def test_euler_read_out_keeps_bends_past_the_seeds_clamp_and_past_a_right_angle(bend):
    """The seed's asin clamp (2/pi) saturates bend at 39.5 degrees, asin alone at 90; ours reads every bend back."""
    angles = np.array([5.0, bend, -12.0])
    m = torch.as_tensor(Rotation.from_euler("XYZ", angles, degrees=True).as_matrix())
    assert np.allclose(np.degrees(tk.euler_xyz(m).numpy()), angles, atol=1e-3)


def test_bend_limit_acts_past_a_right_angle():
    """A distal joint bent 85 degrees costs nothing; at 100 and 120 degrees the limit charges (bend - 90)^2, no twist."""

    def loss(bend: float) -> float:
        pose = KEYPOSES["flat"].copy()
        pose[1, 1, 1] = bend  # the index finger's middle joint
        return float(tk.anatomical_loss(torch.as_tensor(euler_to_bs(pose[None, None]), dtype=torch.float64)))

    assert loss(85.0) < 1e-12
    for bend in (100.0, 120.0):
        assert loss(bend) == pytest.approx(np.radians(bend - 90.0) ** 2, rel=1e-4)
    bs = torch.as_tensor(euler_to_bs(KEYPOSES["fist"][None, None]), dtype=torch.float64).requires_grad_()
    tk.anatomical_loss(bs).backward()
    assert torch.isfinite(bs.grad).all()


def test_anatomical_limits_free_the_flat_hand_and_charge_twists_and_back_bends():
    flat = torch.as_tensor(euler_to_bs(KEYPOSES["flat"][None, None]), dtype=torch.float64)
    assert float(tk.anatomical_loss(flat)) < 1e-12
    twisted, back = KEYPOSES["flat"].copy(), KEYPOSES["flat"].copy()
    twisted[0, 1, 0] = 30.0
    back[1, 2, 1] = -20.0  # a distal joint bent backwards
    for pose in (twisted, back):
        assert float(tk.anatomical_loss(torch.as_tensor(euler_to_bs(pose[None, None])))) > 0.01


def test_dm_axis_limits_free_the_flat_hand_charge_twists_and_angles_past_a_right_angle():
    """DM's 'axis' variant: nothing on the flat hand (with a finite gradient at rest, where the axis is undefined), a
    twist or a back-bend costs, and a distal bend past 90 degrees is charged (angle - 90)^2."""
    as_bs = lambda pose: torch.as_tensor(euler_to_bs(pose[None, None]), dtype=torch.float64)  # noqa: E731
    flat = as_bs(KEYPOSES["flat"]).requires_grad_()
    loss = tk.axis_anatomical_loss(flat)
    loss.backward()
    assert float(loss) < 1e-10 and torch.isfinite(flat.grad).all()
    twisted, back = KEYPOSES["flat"].copy(), KEYPOSES["flat"].copy()
    twisted[0, 1, 0] = 30.0
    back[1, 2, 1] = -20.0
    for pose in (twisted, back):
        assert float(tk.axis_anatomical_loss(as_bs(pose))) > 0.01
    for bend, cost in ((85.0, 0.0), (100.0, np.radians(10.0) ** 2), (120.0, np.radians(30.0) ** 2)):
        pose = KEYPOSES["flat"].copy()
        pose[1, 1, 1] = bend
        assert float(tk.axis_anatomical_loss(as_bs(pose))) == pytest.approx(cost, abs=1e-8, rel=1e-4)
    assert tk.ANATOMICAL_LOSS == {"asrn": tk.anatomical_loss, "dm": tk.axis_anatomical_loss}


def test_mano_hand_in_the_seeds_order_is_manos_own_kinematics(model_dir):
    from handflow.hand.model import create

    model = create(model_dir, "right")
    rng = np.random.default_rng(1)
    betas, pose = rng.normal(0, 1, 10), rng.normal(0, 0.3, (3, 45))
    h = mano_hand(model, betas)
    pos, _ = hand.forward_kinematics(h.offsets, local_rotations(pose, model.layer.hand_mean.double().numpy()))
    with torch.no_grad():
        out = model(
            torch.zeros(3, 3),
            torch.as_tensor(pose, dtype=torch.float32),
            torch.as_tensor(np.repeat(betas[None], 3, 0)).float(),
            torch.zeros(3, 3),
        )
    joints = out.joints_openpose().double().numpy()[:, SEED_FROM_OPENPOSE] * 100.0
    # the tips are skinned vertices (blended, not rigid on the third joint): within 2 mm; the 16 joints exactly
    assert np.abs(joints - joints[:, :1] - pos).max() < 0.2
    rigid = np.setdiff1d(np.arange(21), hand.TIPS)
    assert np.abs((joints - joints[:, :1] - pos)[:, rigid]).max() < 1e-3


def test_interhand_runs_are_contiguous_and_longer_than_one_frame(smoke_h5):
    runs, shapes = interhand_runs(smoke_h5["train"])
    assert runs and all(len(r.hand_pose) >= 2 and r.subject in shapes for r in runs)
    first, last = (int(v) for v in runs[0].name.split("_")[1:])
    assert last > first


def test_metric_bounds_are_the_seeds_and_copying_bs_is_the_intra_domain_truth(s2h_mixhand):
    """Retargeting a hand onto itself by its own bs gives S_finger = 19/20 (the zero diagonal counts) and S_palm = 1."""
    data = MixHand.load(s2h_mixhand)
    copy = evaluate_method("copy_bs", None, data, 4, 2)
    assert copy["intra_mse_cm2"] == pytest.approx(0.0, abs=1e-8)
    from handflow.papers.s2h.evaluate import _similarity
    from handflow.papers.s2h.train import Hands

    hands = Hands(data)
    ident = data.ids("mano", "test")[0]
    _, start, length = next(m for m in data.motions if m[0] == ident)
    bs = torch.as_tensor(data.bs[start : start + length][None])
    finger, palm = hands.semantics(torch.tensor([ident]), bs)
    assert float(_similarity(finger, finger)) == pytest.approx(0.95, abs=1e-6)
    assert float(_similarity(palm, palm)) == pytest.approx(1.0, abs=1e-6)
    rotations = evaluate_method("copy_rotations", None, data, 4, 2)
    assert rotations["mano2mixamo_S_finger"] < copy["mano2mixamo_S_finger"] <= 0.95


def test_tree_with_a_foreign_skeleton_is_one_line(tmp_path, s2h_mixhand, model_dir):
    import json
    import shutil

    tree = s2h_mixhand.parent / "tree"
    bad = tmp_path / "tree"
    shutil.copytree(tree, bad)
    ident = json.loads((bad / "identities.json").read_text())[-1]
    files = sorted((bad / ident["folder"]).glob("*.bvh"))
    lines = files[1].read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if "RightHandIndex2" in line)
    assert lines[k + 2].strip().startswith("OFFSET")
    lines[k + 2] = lines[k + 2].split("OFFSET")[0] + "OFFSET 9.0 9.0 9.0"  # another skeleton than the identity's other files
    files[1].write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        pack(bad, tmp_path / "out.h5", model_dir)
    assert files[1].name in str(err.value) and "OFFSET" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out.h5").exists()
