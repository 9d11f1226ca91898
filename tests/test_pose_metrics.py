"""Pose metrics on constructed inputs with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from handflow.errors import ComputationError
from handflow.metrics.pose import handedness_accuracy, mpjpe, mrrpe, segmentation_miou


def test_mpjpe_aligns_each_hand_at_its_wrist_and_buckets_frames():
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 50, (3, 42, 3))
    pred = gt.copy()
    pred[:, :21] += [100.0, 0, 0]  # a whole-hand shift is removed by the wrist alignment
    pred[0, 0] += [3.0, 4.0, 0.0]  # joint 0 of frame 0 (right hand): 5 mm
    valid = np.ones((3, 42), bool)
    valid[1, 0] = False
    hand_type = np.array([0, 2, 2])
    out = mpjpe(pred, gt, valid, hand_type)
    # joint 0 is valid in frames 0 and 2 (errors 5 and 0): per-joint mean 2.5; 41 other joints 0
    assert out["all"] == pytest.approx(2.5 / 42)
    assert out["single"] == pytest.approx(5.0 / 42)
    assert out["interacting"] == pytest.approx(0.0)
    assert mpjpe(pred, gt, valid, hand_type, include_wrists=False)["all"] == pytest.approx(2.5 / 40)
    # the annotation files' own mask type: 0/1 floats (InterHand2.6M's joint_valid), the same as booleans
    assert mpjpe(pred, gt, valid.astype(np.float32), hand_type) == out
    assert mpjpe(pred, gt, valid.astype(np.int64), hand_type) == out
    with pytest.raises(ComputationError, match="validity mask holds 0 and 1"):
        mpjpe(pred, gt, valid * 0.5, hand_type)


def test_mrrpe_handedness_and_miou():
    assert mrrpe(np.array([[3.0, 4.0, 0.0], [9.0, 9, 9]]), np.zeros((2, 3)), np.array([True, False])) == pytest.approx(5.0)
    prob = np.array([[0.9, 0.1], [0.9, 0.8], [0.2, 0.7]])
    gt = np.array([[1, 0], [1, 0], [0, 1]], float)
    assert handedness_accuracy(prob, gt, np.array([True, True, False])) == pytest.approx(0.5)
    truth = np.zeros((4, 4), int)
    truth[:2, :2] = 1  # 4 pixels of class 1
    pred = np.zeros((4, 4), int)
    pred[:2, :1] = 1  # 2 of them found
    pred[3, 3] = 2  # a false class-2 pixel
    assert segmentation_miou(pred, truth, 3) == pytest.approx((2 / 4 + 0.0) / 2)
