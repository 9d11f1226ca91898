"""HOI4D's hand-pose pickles and split CSV: read when right, one line naming the file and field when not (fuzzed)."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handflow.errors import InputError
from handflow.papers.affordance.hoi4d import hand_pose_path, mask_path, read_hand_pose, read_split, video_path

VID = "ZY20210800001/H1/C2/N01/S100/s01/T1"
POSE = {"poseCoeff": np.zeros(48), "beta": np.ones(10), "trans": np.array([0.1, 0.2, 0.5]), "kps2D": np.arange(42.0).reshape(21, 2)}
EXAMPLES = int(os.environ.get("HANDFLOW_FUZZ_EXAMPLES", "25"))


def test_pose_pickle_reads_and_paths_follow_hoi4d(tmp_path):
    path = hand_pose_path(tmp_path, VID, 7)
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps(POSE, protocol=2))
    pose = read_hand_pose(path)
    assert pose.pose.shape == (48,) and pose.kps2d[20].tolist() == [40.0, 41.0]
    assert path.name == "7.pickle" and mask_path(tmp_path, VID, 7).name == "00007.png"
    assert video_path(tmp_path, VID).parts[-3:] == ("T1", "align_rgb", "image.mp4")


def test_pose_pickle_running_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    path = tmp_path / "0.pickle"
    path.write_bytes(pickle.dumps({**POSE, "beta": Evil()}, protocol=2))
    with pytest.raises(InputError, match="is not allowed in a HOI4D hand-pose file"):
        read_hand_pose(path)


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    key=st.sampled_from(sorted(POSE)), how=st.sampled_from(["drop", "shape", "nan", "text", "bytes"]), cut=st.floats(0, 1, exclude_max=True)
)
def test_damaged_pose_pickles_are_one_line(tmp_path_factory, key, how, cut):
    path = tmp_path_factory.mktemp("pose") / "3.pickle"
    data = dict(POSE)
    if how == "drop":
        del data[key]
    elif how == "shape":
        data[key] = np.zeros(int(1 + 50 * cut))
        if data[key].size == POSE[key].size:
            data[key] = np.zeros(data[key].size + 1)
    elif how == "nan":
        data[key] = POSE[key].copy()
        data[key].flat[int(cut * (data[key].size - 1))] = np.nan
    elif how == "text":
        data[key] = "left hand"
    raw = pickle.dumps(data, protocol=2)
    path.write_bytes(raw[: int(len(raw) * cut)] if how == "bytes" else raw)
    with pytest.raises(InputError) as err:
        read_hand_pose(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_split_rows_need_their_videos(tmp_path):
    video_path(tmp_path, VID).parent.mkdir(parents=True)
    video_path(tmp_path, VID).write_bytes(b"")
    csv = tmp_path / "split.csv"
    csv.write_text(f"vid_index,frame_number,obj\n{VID},12,Watercup/Mug\n")
    (row,) = read_split(csv, tmp_path)
    assert (row.vid, row.frame, row.prompt) == (VID, 12, "mug")
    csv.write_text(f"vid_index,frame_number,obj\n{VID},12,Mug\nZY1/H1/C5/N1/S1/s1/T1,3,Bottle\n")
    with pytest.raises(InputError, match=r"split\.csv: line 3: vid_index: no video or frames for ZY1/H1"):
        read_split(csv, tmp_path)
    csv.write_text(f"vid_index,frame_number,obj\n{VID},twelve,Mug\n")
    with pytest.raises(InputError, match="line 2: frame_number"):
        read_split(csv, tmp_path)
    csv.write_text("video,frame\n")
    with pytest.raises(InputError, match="header"):
        read_split(csv, tmp_path)
    csv.write_text("vid_index,frame_number,obj\n../../etc,1,Mug\n")
    with pytest.raises(InputError, match="line 2"):
        read_split(csv, tmp_path)
