"""The body model every stage of a run poses, chosen once by params `dhpc.body_model` (smplx's `create` is the anchor).

`load_body(None)` is anny (`anny_body`, the embedded default); `load_body(path)` is the
user's SMPL file (`smpl`). A handler builds it once and passes it to what poses bodies
(rendering, the regressor's keypoint loss, correction, scoring), so every stage that poses
bodies says so in its signature and its rule declares the key.
"""

from __future__ import annotations

from pathlib import Path

from handflow.papers.dhpc.anny_body import AnnyBody
from handflow.papers.dhpc.skeleton import BodyModel
from handflow.papers.dhpc.smpl import SmplBody


def load_body(path: Path | None) -> BodyModel:
    """anny (None), or the SMPL model file at `path` (official pkl or npz; one line naming a bad key)."""
    return AnnyBody() if path is None else SmplBody(path)
