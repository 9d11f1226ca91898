"""The differentiable twins of `hand`, `asm` and the bs-rotation in torch, for the losses (tested equal to the numpy ones).

6D rotations are the first two columns of the matrix, re-orthonormalised by roma's
special Gram-Schmidt (the seed's `ortho6d`). Euler XYZ of a bs-rotation reads (twist,
bend, splay); its y angle is an asin, clamped here to [-1 + eps, 1 - eps]: the seed clamps
to [-pi/2 + eps, 2/pi - eps] (reference A6: 2/pi where 1 was meant), which saturates bend at
39.5 degrees, so its "bend above 90 degrees" limit could never act. We clamp to asin's own
domain; and since asin alone still stops at 90 degrees (a 100-degree bend reads back as
(180, 80, 180), charged as a half-turn twist and never as a bend), the read-out takes the
other Euler solution (x - pi, pi - y, z - pi) whenever both x and z are past a quarter turn:
bends then read back over (-180, 180] degrees with twist and splay near zero, so the bend
limit acts past 90 degrees and a fist's 95-degree joints are no twist.
"""

from __future__ import annotations

import roma
import torch

from handflow.papers.s2h.asm import FINGER_JOINTS, KNUCKLES
from handflow.papers.s2h.axes import MIDDLE1, THUMB
from handflow.papers.s2h.hand import N_JOINTS, NON_TIPS, PARENTS

EPS = 1e-6


def rot6d_to_matrix(x: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3): the two columns, Gram-Schmidt'd."""
    return roma.special_gramschmidt(x.reshape(*x.shape[:-1], 3, 2))


def matrix_to_rot6d(m: torch.Tensor) -> torch.Tensor:
    return m[..., :, :2].reshape(*m.shape[:-2], 6)


def from_bs(bs: torch.Tensor, rest_local: torch.Tensor, axes: torch.Tensor) -> torch.Tensor:
    """(B, T, 15, 3, 3) bs -> (B, T, 21, 3, 3) local rotations; rest_local, axes (B, 21, 3, 3) per target hand."""
    t = axes[:, None, NON_TIPS]
    inner = rest_local[:, None, NON_TIPS] @ t @ bs @ t.transpose(-1, -2)
    eye = torch.eye(3, dtype=bs.dtype, device=bs.device).expand(*bs.shape[:2], N_JOINTS, 3, 3)
    out = eye.clone()
    out[:, :, NON_TIPS] = inner
    return out


def forward_kinematics(offsets: torch.Tensor, rotations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, 21, 3) positions and global rotations of (B, 21, 3) offsets and (B, T, 21, 3, 3) local rotations."""
    pos = [torch.zeros_like(rotations[:, :, 0, :, 0])]
    glob = [rotations[:, :, 0]]
    for j in range(1, N_JOINTS):
        p = int(PARENTS[j])
        glob.append(glob[p] @ rotations[:, :, j])
        pos.append(pos[p] + (glob[p] @ offsets[:, None, j, :, None])[..., 0])
    return torch.stack(pos, 2), torch.stack(glob, 2)


def asm(pos: torch.Tensor, glob: torch.Tensor, axes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, 20, 20, 3) finger part and (B, T, 20, 9, 3) palm part (`handflow.papers.s2h.asm.asm`, batched)."""
    frames = glob[:, :, FINGER_JOINTS] @ axes[:, None, FINGER_JOINTS]
    p = pos[:, :, FINGER_JOINTS]
    scale = (pos[:, :, MIDDLE1] - pos[:, :, 0]).norm(dim=-1)[..., None, None, None]
    finger = torch.einsum("ntiac,ntija->ntijc", frames, p[:, :, None] - p[:, :, :, None]) / scale
    wrist, knuckles = pos[:, :, :1], pos[:, :, KNUCKLES]
    thirds = torch.stack([2 / 3 * wrist + 1 / 3 * knuckles, 1 / 3 * wrist + 2 / 3 * knuckles], dim=3).flatten(2, 3)
    thumb = 0.5 * (pos[:, :, 0] + pos[:, :, 1 + 4 * THUMB])
    anchors = torch.cat([thirds, thumb[:, :, None]], dim=2)
    palm = torch.einsum("ntiac,ntika->ntikc", frames, anchors[:, :, None] - p[:, :, :, None]) / scale
    return finger, palm


def euler_xyz(m: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 3) intrinsic XYZ angles (R = Rx Ry Rz), asin clamped to its domain, on the solution whose
    twist and splay lie within a quarter turn where the other has both past it (see the module docstring)."""
    y = torch.asin(m[..., 0, 2].clamp(-1 + EPS, 1 - EPS))
    x = torch.atan2(-m[..., 1, 2], m[..., 2, 2])
    z = torch.atan2(-m[..., 0, 1], m[..., 0, 0])
    half = torch.pi / 2
    other = (x.abs() > half) & (z.abs() > half)  # the same rotation: (x - pi sgn x, pi sgn y - y, z - pi sgn z)
    flip = lambda a: a - torch.pi * torch.where(a >= 0, 1.0, -1.0).to(a.dtype)  # noqa: E731
    y_other = torch.pi * torch.where(y >= 0, 1.0, -1.0).to(y.dtype) - y
    return torch.stack([torch.where(other, flip(x), x), torch.where(other, y_other, y), torch.where(other, flip(z), z)], -1)


def _limits(tw: torch.Tensor, bd: torch.Tensor, sp: torch.Tensor, past_right_angle: torch.Tensor) -> torch.Tensor:
    """The seed's limits on (B, T, 5, 3) twist, bend and splay components: no twist; splay only at the knuckle, within
    30 degrees (60 for the thumb); no back-bending of the distal joints; `past_right_angle` charged where positive;
    knuckles to -10 degrees (the thumb's to -60). Summed over fingers and joints, mean over batch and time."""
    four, thumb = slice(0, THUMB), THUMB
    pi = torch.pi
    l_tw = (tw**2).sum((-1, -2))
    l_sp = (sp[..., 1:] ** 2).sum((-1, -2)) + (torch.relu(sp[..., thumb, 0].abs() - pi / 3) ** 2)
    l_sp = l_sp + (torch.relu(sp[..., four, 0].abs() - pi / 6) ** 2).sum(-1)
    l_bd = (bd[..., 1:].clamp(max=0) ** 2).sum((-1, -2)) + (torch.relu(past_right_angle) ** 2).sum((-1, -2))
    l_bd = l_bd + ((bd[..., four, 0] + pi / 18).clamp(max=0) ** 2).sum(-1) + (bd[..., thumb, 0] + pi / 3).clamp(max=0) ** 2
    return (l_tw + l_sp + l_bd).mean()


def anatomical_loss(bs: torch.Tensor) -> torch.Tensor:
    """The seed's 'euler' limits (reference A6) on (B, T, 15, 3, 3) bs: `_limits` on the Euler XYZ angles (twist, bend,
    splay), the bend within 90 degrees."""
    e = euler_xyz(bs).reshape(*bs.shape[:2], 5, 3, 3)
    return _limits(e[..., 0], e[..., 1], e[..., 2], e[..., 1] - torch.pi / 2)


def axis_anatomical_loss(bs: torch.Tensor) -> torch.Tensor:
    """The seed's 'axis' variant, which its DM config trains with (reference A6-A7): limits on the axis-angle axis, and
    the angle within a quarter turn. The reference gives the variant's terms, not its code, so this is our reading:
    `_limits` on the rotation vector r = angle * axis in the (twist, bend, splay) frame, with the angle |r| (not the
    bend) limited to pi/2. The axis's components are weighted by the angle (r, not r / |r|) so that a joint at rest,
    whose axis is undefined, costs nothing and has a finite gradient."""
    r = roma.rotmat_to_rotvec(bs).reshape(*bs.shape[:2], 5, 3, 3)
    angle = (r.pow(2).sum(-1) + EPS**2).sqrt()
    return _limits(r[..., 0], r[..., 1], r[..., 2], angle - torch.pi / 2)


# The anatomical loss each network trains with, as the seed's configs set `anatomical_loss_type`
ANATOMICAL_LOSS = {"asrn": anatomical_loss, "dm": axis_anatomical_loss}
