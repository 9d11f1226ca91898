"""Rasterizers: per pixel, the visible face and its camera depth.

Two backends produce the same `Raster` (face id, depth) for a pinhole camera in
InterHand2.6M's convention (see `handflow.geometry.camera`):

* `gl`: moderngl on a headless EGL context (Mesa llvmpipe on CPU machines, the
  driver's on a GPU); about 1-2 ms a frame. pytorch3d would do the same, but it
  has no wheel for this Python, so it is not a requirement.
* `numpy`: a dependency-free z-buffer (vectorised edge functions, exact
  perspective-correct depth); slower, used as the oracle the GL backend is
  tested against and as the fallback where no EGL exists.

Everything else (part labels, silhouettes, barycentrics, shading) is derived from
the `Raster` in `handflow.render.images`, so the backends cannot drift apart there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

NEAR, FAR = 1.0, 1.0e5  # camera depth range, in the units of the vertices


@dataclass(frozen=True)
class Raster:
    face_id: np.ndarray  # (H, W) int32, -1 where no face covers the pixel centre
    depth: np.ndarray  # (H, W) float32 camera z of the visible surface, inf on background

    @property
    def mask(self) -> np.ndarray:
        return self.face_id >= 0


def rasterize(
    verts_cam: np.ndarray,
    faces: np.ndarray,
    focal: np.ndarray,
    princpt: np.ndarray,
    size: tuple[int, int],
    backend: str = "auto",
) -> Raster:
    """Rasterize camera-space vertices; `size` is (width, height) in pixels."""
    if backend == "auto":
        backend = "gl" if gl_available() else "numpy"
    if backend == "gl":
        return _GLRasterizer.get().render(verts_cam, faces, focal, princpt, size)
    if backend == "numpy":
        return rasterize_numpy(verts_cam, faces, focal, princpt, size)
    raise ValueError(f"unknown rasterizer backend {backend!r} (gl, numpy, auto)")


def rasterize_numpy(verts_cam: np.ndarray, faces: np.ndarray, focal: np.ndarray, princpt: np.ndarray, size: tuple[int, int]) -> Raster:
    width, height = size
    v = np.asarray(verts_cam, np.float64)
    faces = np.asarray(faces, np.int64)
    z = v[:, 2]
    uv = np.stack([v[:, 0] / z * focal[0] + princpt[0], v[:, 1] / z * focal[1] + princpt[1]], axis=1)
    tri = uv[faces]  # (F, 3, 2)
    tz = z[faces]
    keep = (tz > NEAR).all(axis=1)
    lo = np.ceil(tri.min(axis=1)).astype(np.int64)
    hi = np.floor(tri.max(axis=1)).astype(np.int64)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [width - 1, height - 1])
    keep &= (hi >= lo).all(axis=1)
    ids = np.nonzero(keep)[0]
    ext = hi[ids] - lo[ids] + 1
    # bucket faces by power-of-two bounding box so the padded pixel grids stay small
    bucket = np.ceil(np.log2(np.maximum(ext, 1))).astype(np.int64)
    cand_pix, cand_z, cand_face = [], [], []
    for bx, by in {tuple(b) for b in bucket}:
        sel = ids[(bucket[:, 0] == bx) & (bucket[:, 1] == by)]
        gx, gy = np.meshgrid(np.arange(2**bx), np.arange(2**by), indexing="xy")
        px = lo[sel, 0, None] + gx.ravel()[None]
        py = lo[sel, 1, None] + gy.ravel()[None]
        a, b, c = tri[sel, 0], tri[sel, 1], tri[sel, 2]
        area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
        ok_area = np.abs(area) > 1e-12
        w0 = (b[:, 0, None] - px) * (c[:, 1, None] - py) - (b[:, 1, None] - py) * (c[:, 0, None] - px)
        w1 = (c[:, 0, None] - px) * (a[:, 1, None] - py) - (c[:, 1, None] - py) * (a[:, 0, None] - px)
        w2 = (a[:, 0, None] - px) * (b[:, 1, None] - py) - (a[:, 1, None] - py) * (b[:, 0, None] - px)
        safe_area = np.where(ok_area, area, 1.0)[:, None]
        b0, b1, b2 = w0 / safe_area, w1 / safe_area, w2 / safe_area
        inside = (b0 >= 0) & (b1 >= 0) & (b2 >= 0) & ok_area[:, None]
        inside &= (px <= hi[sel, 0, None]) & (py <= hi[sel, 1, None])
        inv_z = b0 / tz[sel, 0, None] + b1 / tz[sel, 1, None] + b2 / tz[sel, 2, None]
        f_idx, p_idx = np.nonzero(inside)
        cand_pix.append(py[f_idx, p_idx] * width + px[f_idx, p_idx])
        cand_z.append(1.0 / inv_z[f_idx, p_idx])
        cand_face.append(sel[f_idx])
    face_id = np.full(height * width, -1, np.int32)
    depth = np.full(height * width, np.inf, np.float32)
    if cand_pix:
        pix, zz, ff = np.concatenate(cand_pix), np.concatenate(cand_z), np.concatenate(cand_face)
        order = np.lexsort((ff, zz, pix))  # nearest first; ties go to the lower face id, as in GL
        first = np.unique(pix[order], return_index=True)[1]
        win = order[first]
        face_id[pix[win]] = ff[win]
        depth[pix[win]] = zz[win]
    return Raster(face_id.reshape(height, width), depth.reshape(height, width))


@functools.cache
def gl_available() -> bool:
    try:
        _GLRasterizer.get()
    except Exception:
        return False
    return True


_VERTEX_SHADER = """
#version 330
uniform mat4 proj;
in vec3 in_pos;
out float v_z;
void main() {
    v_z = in_pos.z;
    gl_Position = proj * vec4(in_pos, 1.0);
}
"""
_FRAGMENT_SHADER = """
#version 330
in float v_z;
layout(location = 0) out int face;
layout(location = 1) out float depth;
void main() {
    face = gl_PrimitiveID + 1;
    depth = v_z;
}
"""


class _GLRasterizer:
    """One EGL context per process; framebuffers cached per image size."""

    _instance: _GLRasterizer | None = None

    def __init__(self) -> None:
        import moderngl

        self.ctx = moderngl.create_standalone_context(backend="egl")
        self.prog = self.ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        self.fbos: dict[tuple[int, int], object] = {}

    @classmethod
    def get(cls) -> _GLRasterizer:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def _targets(self, size: tuple[int, int]):
        """Integer face target (face id + 1, so 0 is background), float depth, z-buffer."""
        if size not in self.fbos:
            face = self.ctx.texture(size, 1, dtype="i4")
            depth = self.ctx.texture(size, 1, dtype="f4")
            zbuf = self.ctx.depth_renderbuffer(size)
            fbo = self.ctx.framebuffer(color_attachments=[face, depth], depth_attachment=zbuf)
            self.fbos[size] = (fbo, face, depth, bytes(4 * size[0] * size[1]))
        return self.fbos[size]

    def render(self, verts_cam, faces, focal, princpt, size) -> Raster:
        import moderngl

        width, height = size
        fx, fy = float(focal[0]), float(focal[1])
        cx, cy = float(princpt[0]), float(princpt[1])
        proj = np.array(
            [
                [2 * fx / width, 0, 2 * (cx + 0.5) / width - 1, 0],
                [0, -2 * fy / height, 1 - 2 * (cy + 0.5) / height, 0],
                [0, 0, (FAR + NEAR) / (FAR - NEAR), -2 * FAR * NEAR / (FAR - NEAR)],
                [0, 0, 1, 0],
            ],
            dtype="f4",
        )
        self.prog["proj"].write(proj.T.tobytes())  # GLSL matrices are column-major
        vbo = self.ctx.buffer(np.asarray(verts_cam, "f4").tobytes())
        ibo = self.ctx.buffer(np.asarray(faces, "i4").tobytes())
        vao = self.ctx.vertex_array(self.prog, [(vbo, "3f", "in_pos")], index_buffer=ibo)
        fbo, face_tex, depth_tex, zeros = self._targets((width, height))
        face_tex.write(zeros)
        depth_tex.write(zeros)
        fbo.use()
        fbo.color_mask = ((False,) * 4, (False,) * 4)  # clear only the z-buffer here
        fbo.clear(depth=1.0)
        fbo.color_mask = ((True,) * 4, (True,) * 4)
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.ctx.depth_func = "<"
        vao.render(moderngl.TRIANGLES)
        face = np.frombuffer(face_tex.read(), "i4").reshape(height, width)[::-1] - 1
        depth = np.frombuffer(depth_tex.read(), "f4").reshape(height, width)[::-1].copy()
        depth[face < 0] = np.inf
        vao.release()
        vbo.release()
        ibo.release()
        return Raster(np.ascontiguousarray(face, dtype=np.int32), depth)
