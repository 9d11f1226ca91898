"""Graspable objects of HOI4D's categories, built with trimesh, each with where a hand holds it.

An instance is a closed mesh in metres (standing on z = 0, up +z), per-vertex colours (a
base colour with bands or a two-tone handle: enough texture for a network to tell objects
apart), and a grasp site: a point inside the part to hold, the outward direction a palm
approaches from, and the direction the fingers wrap. Parts that overlap (a mug's body and
handle) are joined by manifold3d's boolean union, so the signed distance the grasp solver
queries has one inside.

Categories and their HOI4D class ids: Mug C2, Bottle C5, Bowl C7, Kettle C12, Knife C13.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import manifold3d
import numpy as np
import trimesh

CATEGORY_IDS = {"mug": 2, "bottle": 5, "bowl": 7, "kettle": 12, "knife": 13}
CATEGORY_NAMES = {"mug": "Mug", "bottle": "Bottle", "bowl": "Bowl", "kettle": "Kettle", "knife": "Knife"}
SECTIONS = 48  # segments around a body of revolution


@dataclass(frozen=True)
class GraspSite:
    origin: np.ndarray  # (3,) a point inside the part held (the palm is pushed out from it along `normal`)
    normal: np.ndarray  # (3,) unit, the side the palm comes from
    tangent: np.ndarray  # (3,) unit, orthogonal to `normal`: the direction the fingers point before closing


@dataclass(frozen=True)
class ObjectInstance:
    category: str
    mesh: trimesh.Trimesh
    colors: np.ndarray  # (V, 3) linear RGB albedo per vertex
    site: Callable[[np.random.Generator], GraspSite]


def _union(*meshes: trimesh.Trimesh) -> trimesh.Trimesh:
    """The boolean union of closed meshes (manifold3d), as one watertight trimesh."""
    total = None
    for m in meshes:
        part = manifold3d.Manifold(manifold3d.Mesh(np.asarray(m.vertices, np.float32), np.asarray(m.faces, np.uint32)))
        total = part if total is None else total + part
    out = total.to_mesh()
    return trimesh.Trimesh(np.asarray(out.vert_properties[:, :3], np.float64), np.asarray(out.tri_verts, np.int64), process=True)


def _revolve(profile: list[tuple[float, float]]) -> trimesh.Trimesh:
    """A closed body of revolution about z from (radius, height) points, bottom to top, both ends on the axis."""
    return trimesh.creation.revolve(np.asarray(profile, np.float64), sections=SECTIONS)


def _side_site(height: float, angles: tuple[float, float], jitter: float = 0.1) -> Callable[[np.random.Generator], GraspSite]:
    """A grasp around a vertical body at `height`, from an azimuth in `angles` (radians): fingers wrap around it."""

    def site(rng: np.random.Generator) -> GraspSite:
        phi = rng.uniform(*angles)
        h = height * (1 + rng.uniform(-jitter, jitter))
        n = np.array([np.cos(phi), np.sin(phi), 0.0])
        return GraspSite(np.array([0.0, 0.0, h]), n, np.array([-np.sin(phi), np.cos(phi), 0.0]))

    return site


def _banded(mesh: trimesh.Trimesh, rng: np.random.Generator, bands: int) -> np.ndarray:
    base, second = rng.uniform(0.05, 0.8, 3), rng.uniform(0.05, 0.8, 3)
    z = mesh.vertices[:, 2]
    stripe = (np.floor((z - z.min()) / max(np.ptp(z), 1e-9) * bands) % 2).astype(bool)
    return np.where(stripe[:, None], second, base)


def mug(rng: np.random.Generator) -> ObjectInstance:
    r, h = rng.uniform(0.034, 0.044), rng.uniform(0.08, 0.105)
    body = _revolve([(0.0, 0.0), (r, 0.0), (r, h), (0.0, h)])
    handle = trimesh.creation.torus(major_radius=0.026, minor_radius=0.0065, major_sections=32, minor_sections=12)
    handle.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))
    handle.apply_translation([r + 0.012, 0.0, h / 2])
    mesh = _union(body, handle)
    return ObjectInstance("mug", mesh, _banded(mesh, rng, 3), _side_site(h / 2, (np.pi * 0.6, np.pi * 1.4)))


def bottle(rng: np.random.Generator) -> ObjectInstance:
    r, h = rng.uniform(0.028, 0.038), rng.uniform(0.13, 0.17)
    neck = rng.uniform(0.011, 0.014)
    mesh = _revolve([(0.0, 0.0), (r, 0.0), (r, h), (neck, h + 0.04), (neck, h + 0.07), (0.0, h + 0.07)])
    return ObjectInstance("bottle", mesh, _banded(mesh, rng, 5), _side_site(h * 0.5, (0.0, 2 * np.pi)))


def bowl(rng: np.random.Generator) -> ObjectInstance:
    r, h = rng.uniform(0.065, 0.08), rng.uniform(0.05, 0.065)
    mesh = _revolve([(0.0, 0.0), (0.035, 0.0), (r * 0.8, h * 0.5), (r, h), (0.0, h)])
    return ObjectInstance("bowl", mesh, _banded(mesh, rng, 2), _side_site(h * 0.8, (0.0, 2 * np.pi), jitter=0.05))


def kettle(rng: np.random.Generator) -> ObjectInstance:
    r, h = rng.uniform(0.06, 0.075), rng.uniform(0.13, 0.16)
    body = _revolve([(0.0, 0.0), (r, 0.0), (r * 1.05, h * 0.5), (r * 0.8, h), (0.0, h)])
    spout = trimesh.creation.cylinder(radius=0.011, height=0.09, sections=16)
    spout.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 3, [0, 1, 0]))
    spout.apply_translation([r + 0.02, 0.0, h * 0.55])
    mesh = _union(body, spout)
    return ObjectInstance("kettle", mesh, _banded(mesh, rng, 2), _side_site(h * 0.45, (np.pi * 0.6, np.pi * 1.4)))


def knife(rng: np.random.Generator) -> ObjectInstance:
    """A knife lying flat (held above the table on a stand the render leaves out): handle along -x, blade along +x."""
    length, width, thick = rng.uniform(0.09, 0.11), rng.uniform(0.02, 0.024), rng.uniform(0.015, 0.02)
    z = 0.04
    handle = trimesh.creation.box([length, width, thick])
    handle.apply_translation([-length / 2, 0.0, z])
    blade = trimesh.creation.box([0.12, width * 1.2, 0.003])
    blade.apply_translation([0.06, 0.0, z])
    mesh = _union(handle, blade)
    colour = np.where((mesh.vertices[:, 0] < 0)[:, None], rng.uniform(0.02, 0.5, 3), np.array([0.55, 0.57, 0.6]))

    def site(r: np.random.Generator) -> GraspSite:
        x = -length * r.uniform(0.4, 0.6)
        return GraspSite(np.array([x, 0.0, z]), np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0]) * r.choice([-1.0, 1.0]))

    return ObjectInstance("knife", mesh, colour, site)


BUILDERS: dict[str, Callable[[np.random.Generator], ObjectInstance]] = {
    "mug": mug,
    "bottle": bottle,
    "bowl": bowl,
    "kettle": kettle,
    "knife": knife,
}
