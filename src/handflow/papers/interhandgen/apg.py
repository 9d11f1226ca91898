"""Anti-penetration guidance (APG): the seed's penetration loss, computed for the whole batch at once.

The seed's loss (reference section 2, after its 2024-04-14 fix): for each vertex p of
one hand, its nearest vertex q of the other hand; p is inside the other hand when
q's outward normal points away from p (dot(normalize(q - p), n_q) > 0); the loss
is 1000 x the mean over such vertices and xyz of the Geman-McClure term
r^2 / (r^2 + rho^2), r = p - q, rho = 5 cm, both directions, summed over samples.

The seed evaluates it in a Python loop over samples, with all-pairs nearest
vertices and a host sync (`nonzero`) per sample and direction. `seed_penetration_loss`
below is that algorithm (kept as the benchmark's baseline and the test's oracle).
`PenetrationLoss` computes the same loss differently: a vertex can only be inside
the other hand if it lies within that hand's bounding box and within its bone
capsules (one capsule per bone, its radius the largest distance of the bone's own
vertices in the rest pose), so a box test and capsule distances (21 per vertex
instead of ~800) pick the candidates, and nearest vertices are searched for
those alone, by batched `cdist` over buckets of samples with similar candidate
counts (a few host syncs per call, none per sample): the CPU's path. On a GPU, where a host
sync costs more than the arithmetic it saves, the same candidates and nearest vertices are
computed densely for every vertex (`dense=True`, the default there): all-pairs distances in
chunks of samples, candidates as a mask, no host sync at all; both paths give the same loss
(tests/test_compute.py). Vertices outside every capsule by more than `margin` count as outside;
the seed's normal test can flag such far vertices in concave regions spuriously,
so ours is the cleaner of the two, not a bit-for-bit copy (the benchmark compares
penetration reduction).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from handflow.config import Section
from handflow.geometry.mesh import vertex_normals_batched
from handflow.hand.bones import BONE_PAIRS
from handflow.hand.model import HandModel


@dataclass(frozen=True)
class ApgConfig(Section):
    """params `interhandgen.sample.apg`."""

    scale: float = 7.0  # step size s_k = scale * decay ** (n_steps - 1 - k), k = 0 at the noisiest step
    decay: float = 0.9
    final_pose_scale: float = 0.7  # the seed's last step: 0.7 on pose/shape/rotation dims
    final_trans_scale: float = 7.0  # and 7 on the translation dims
    rho: float = 0.05  # Geman-McClure scale, metres
    weight: float = 1000.0
    margin: float = 0.005  # metres beyond a capsule still tested (covers shape changes from the rest mesh)
    multiplier: float = 1.0  # scales every step: the "guidance weight" of the sweep figure


def gmof(r: torch.Tensor, rho: float) -> torch.Tensor:
    return r**2 / (r**2 + rho**2)


def _bones(joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    a = joints[:, [p[0] for p in BONE_PAIRS]]
    b = joints[:, [p[1] for p in BONE_PAIRS]]
    return a, b


def segment_distances(points: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(B, P, S) distance of each point to each segment a-b, (B, S, 3) each."""
    ab = b - a
    ap = points[:, :, None] - a[:, None]
    t = ((ap * ab[:, None]).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-12)[:, None]).clamp(0.0, 1.0)
    return (ap - t[..., None] * ab[:, None]).norm(dim=-1)


def capsule_radii(model: HandModel) -> torch.Tensor:
    """(S,) per bone: the largest distance of the rest mesh's vertices nearest to that bone."""
    like = {"dtype": model.hands_components.dtype, "device": model.hands_components.device}
    with torch.no_grad():
        out = model(torch.zeros(1, 3, **like), torch.zeros(1, 45, **like), torch.zeros(1, 10, **like))
        d = segment_distances(out.vertices, *_bones(out.joints))[0]  # (V, S)
        owner = d.argmin(1)
        return torch.stack([d[owner == s, s].max() if (owner == s).any() else d[:, s].min() for s in range(d.shape[1])])


class PenetrationLoss:
    """Per-sample APG loss of two posed hands, batched; see the module docstring."""

    def __init__(self, left: HandModel, right: HandModel, rho: float, weight: float, margin: float, dense: bool | None = None) -> None:
        """`dense`: the sync-free path (module docstring); None: dense where the hands live on a GPU."""
        self.faces = {"left": left.faces, "right": right.faces}
        self.radii = {"left": capsule_radii(left), "right": capsule_radii(right)}
        self.rho, self.weight, self.margin = rho, weight, margin
        self.buckets = 8  # groups of samples by candidate count; each padded to its own largest
        self.dense = left.faces.device.type == "cuda" if dense is None else dense
        self.chunk = 256  # samples per all-pairs distance block of the dense path (256 x 778 x 778 floats: 0.6 GB)

    def __call__(self, v_left, j_left, v_right, j_right) -> torch.Tensor:
        """(B,) loss; joints (B, 21, 3) in InterHand2.6M order, per hand."""
        n_left = vertex_normals_batched(v_left.detach(), self.faces["left"])
        n_right = vertex_normals_batched(v_right.detach(), self.faces["right"])
        directional = self._dense if self.dense else self._directional
        into_left = directional(v_right, v_left, n_left, j_left.detach(), self.radii["left"])
        into_right = directional(v_left, v_right, n_right, j_right.detach(), self.radii["right"])
        return self.weight * (into_left + into_right)

    def candidates(
        self, p: torch.Tensor, q: torch.Tensor, joints_q: torch.Tensor, radii: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(sample, vertex) index pairs of p's vertices that may lie inside q, flattened over the batch.

        Two filters, each keeping every vertex that is inside: q's bounding box, then q's
        bone capsules for the vertices the box kept. Flat indices rather than a padded
        (B, K) block: one badly overlapping sample must not set the work for all.
        """
        with torch.no_grad():
            p, q = p.detach(), q.detach()
            lo, hi = q.amin(1, keepdim=True) - self.margin, q.amax(1, keepdim=True) + self.margin
            b, i = ((p >= lo) & (p <= hi)).all(-1).nonzero(as_tuple=True)
            a, e = _bones(joints_q)
            slack = segment_distances(p[b, i][:, None], a[b], e[b])[:, 0] - radii.to(p.dtype)
            near = slack.min(-1).values < self.margin
            return b[near], i[near]

    def _directional(self, p, q, n_q, joints_q, radii) -> torch.Tensor:
        """Per-sample loss of vertices p (B, P, 3) inside the hand q (B, Q, 3) with normals n_q.

        Nearest vertices by `cdist` per bucket of samples with similar candidate counts:
        each bucket is padded only to its own largest count, and q is gathered per sample,
        not per candidate.
        """
        b, i = self.candidates(p, q, joints_q, radii)
        mask = torch.zeros(p.shape[:2], dtype=torch.bool, device=p.device)
        mask[b, i] = True
        out = p.new_zeros(len(p))
        for rows in torch.argsort(mask.sum(1)).tensor_split(self.buckets):
            sub = mask[rows]
            k = int(sub.sum(1).max()) if len(rows) else 0  # one host sync per bucket
            if k == 0:
                continue
            cols = torch.argsort(sub.to(torch.int8), dim=1, descending=True, stable=True)[:, :k]
            valid = torch.gather(sub, 1, cols)
            pc = p[rows[:, None], cols]
            nearest = torch.cdist(pc.detach(), q[rows].detach()).argmin(-1)
            qj, nj = q[rows[:, None], nearest], n_q[rows[:, None], nearest]
            inside = valid & ((torch.nn.functional.normalize(qj - pc, dim=-1) * nj).sum(-1) > 0)
            per_vertex = gmof(pc - qj, self.rho).sum(-1) * inside
            out = out.index_add(0, rows, per_vertex.sum(1) / (3 * inside.sum(1)).clamp_min(1))
        return out

    def _dense(self, p, q, n_q, joints_q, radii) -> torch.Tensor:
        """`_directional` for every vertex at once: the candidates as a mask (the same two filters), the nearest vertex of
        q by all-pairs distances in chunks of samples; no host sync."""
        with torch.no_grad():
            pd, qd = p.detach(), q.detach()
            lo, hi = qd.amin(1, keepdim=True) - self.margin, qd.amax(1, keepdim=True) + self.margin
            slack = segment_distances(pd, *_bones(joints_q)) - radii.to(pd.dtype)
            candidate = ((pd >= lo) & (pd <= hi)).all(-1) & (slack.min(-1).values < self.margin)
            nearest = torch.cat([torch.cdist(a, b).argmin(-1) for a, b in zip(pd.split(self.chunk), qd.split(self.chunk), strict=True)])
        index = nearest[..., None].expand(-1, -1, 3)
        qj, nj = torch.gather(q, 1, index), torch.gather(n_q, 1, index)
        inside = candidate & ((torch.nn.functional.normalize(qj - p, dim=-1) * nj).sum(-1) > 0)
        per_vertex = gmof(p - qj, self.rho).sum(-1) * inside
        return per_vertex.sum(1) / (3 * inside.sum(1)).clamp_min(1)


def seed_penetration_loss(v_left, v_right, faces_left, faces_right, rho: float, weight: float) -> torch.Tensor:
    """The seed's algorithm: per sample and direction, all-pairs nearest vertex, normal test, host sync. Scalar."""
    n_left = vertex_normals_batched(v_left.detach(), faces_left)
    n_right = vertex_normals_batched(v_right.detach(), faces_right)
    total = v_left.new_zeros(())
    for i in range(len(v_left)):
        for p, q, n_q in ((v_right[i], v_left[i], n_left[i]), (v_left[i], v_right[i], n_right[i])):
            nearest = torch.cdist(p.detach(), q.detach()).argmin(1)
            hit = ((torch.nn.functional.normalize(q[nearest] - p, dim=-1) * n_q[nearest]).sum(-1) > 0).nonzero().squeeze(1)
            if len(hit) == 0:
                continue
            total = total + weight * gmof(p[hit] - q[nearest[hit]], rho).mean()
    return total


def step_sizes(cfg: ApgConfig, n_steps: int, dim: int, trans: slice) -> torch.Tensor:
    """(n_steps, dim) APG step per reverse step k (0 = noisiest) and dimension, the seed's schedule."""
    k = torch.arange(n_steps, dtype=torch.float64)
    steps = (cfg.scale * cfg.decay ** (n_steps - 1 - k))[:, None].repeat(1, dim)
    steps[-1] = cfg.final_pose_scale
    steps[-1, trans] = cfg.final_trans_scale
    return cfg.multiplier * steps
