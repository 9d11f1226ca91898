"""HO3Pair's first steps: HOI4D palette masks read by their labels, the seed's 2.6x square crop, the keep-mask."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handflow.errors import InputError
from handflow.papers.affordance.ho3pair import (
    dilated_hole,
    keep_mask,
    labels_of_palette,
    object_box,
    read_palette_mask,
    square_crop_box,
)

PALETTE = {0: (0, 0, 0), 1: (128, 0, 0), 2: (0, 128, 0), 3: (128, 128, 0), 4: (0, 0, 128), 5: (128, 0, 128), 6: (0, 128, 128)}


def _mask(labels: np.ndarray) -> np.ndarray:
    return np.array([PALETTE[int(v)] for v in labels.ravel()], np.uint8).reshape(*labels.shape, 3)


def test_every_hoi4d_label_reads_back_from_its_png(tmp_path):
    labels = np.arange(7, dtype=np.uint8).repeat(3)[None].repeat(4, 0)
    path = tmp_path / "00001.png"
    cv2.imwrite(str(path), _mask(labels)[..., ::-1])
    np.testing.assert_array_equal(read_palette_mask(path), labels)


def test_foreign_colours_and_object_free_frames_are_one_line(tmp_path):
    rgb = _mask(np.ones((4, 4), np.uint8))
    rgb[2, 3] = (200, 10, 10)
    with pytest.raises(InputError, match=r"m\.png: palette: colour \(200, 10, 10\) at \(3, 2\)"):
        labels_of_palette(rgb, "m.png")
    rgb[2, 3] = (128, 128, 128)  # VOC label 7: not a HOI4D label
    with pytest.raises(InputError, match="not one of HOI4D's labels"):
        labels_of_palette(rgb, "m.png")
    with pytest.raises(InputError, match="no object pixels"):
        object_box(np.full((4, 4), 2, np.uint8), "m.png")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match=r"bad\.png: not a readable image"):
        read_palette_mask(tmp_path / "bad.png")


def test_crop_is_2_6_times_the_object_and_square_inside_the_image():
    box = np.array([100.0, 80.0, 140.0, 100.0])  # 40 x 20 object in a 640 x 480 frame
    np.testing.assert_array_equal(square_crop_box(box, 640, 480), [68, 38, 172, 142])  # 104 = 2.6 x 40
    near_edge = square_crop_box(np.array([5.0, 5.0, 45.0, 25.0]), 640, 480)
    assert near_edge[0] == 0 and near_edge[1] == 0 and near_edge[2] - near_edge[0] == near_edge[3] - near_edge[1] == 104
    huge = square_crop_box(np.array([0.0, 0.0, 600.0, 400.0]), 640, 480)
    assert (huge[2] - huge[0], huge[3] - huge[1]) == (480, 480) and huge[1] == 0


@settings(max_examples=50, derandomize=True, deadline=None)
@given(st.integers(0, 600), st.integers(0, 440), st.integers(1, 600), st.integers(1, 440))
def test_crop_always_fits_the_frame(x, y, w, h):
    box = square_crop_box(np.array([x, y, min(x + w, 640), min(y + h, 480)], np.float64), 640, 480)
    assert 0 <= box[0] and 0 <= box[1] and box[2] <= 640 and box[3] <= 480 and box[2] - box[0] == box[3] - box[1] > 0


@pytest.mark.parametrize(("side", "grow"), [(256, 3), (128, 2), (64, 1), (20, 0)])
def test_keep_mask_is_everything_but_the_right_hand_and_its_hole_grows_as_the_seeds_at_256(side, grow):
    """The seed's 7x7 erosion at 256 px grows the hole by 3 px; at other crop sizes by the same share of the crop."""
    labels = np.zeros((side, side), np.uint8)
    labels[8:12, 8:12] = 2
    labels[0:3, 0:3] = 6  # another label (a left hand in some categories) is kept, as the seed
    keep = keep_mask(labels)
    assert (keep == 0).sum() == 16 and keep[1, 1] == 255
    assert (dilated_hole(keep) == 0).sum() == (4 + 2 * grow) ** 2
