"""Batched rotation conversions (torch, and numpy in / numpy out).

Conventions, shared with the HumanML3D reference (`common/quaternion.py`):
- quaternions are `(w, x, y, z)`, last axis of size 4; `quat_rotate(q, v)` rotates column vectors;
  `quat_multiply(q, r)` is the rotation "first r, then q" (matrix product `Q @ R`);
- rotation matrices act on column vectors, `[..., 3, 3]`;
- 6D ("continuous") rotations are the first two *columns* of the matrix concatenated,
  `[m00, m10, m20, m01, m11, m21]` (reference `quaternion_to_cont6d`), decoded by Gram-Schmidt
  exactly like the reference `cont6d_to_matrix`;
- Euler angles follow BVH: `order="ZXY"` means `R = Rz(a[..., 0]) @ Rx(a[..., 1]) @ Ry(a[..., 2])`
  (intrinsic, angles listed in the order of the string, as BVH channels list them), degrees by default.

Every function accepts numpy arrays or torch tensors and returns the same kind. Numpy inputs are
computed in their own float precision (float64 stays float64).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import torch

Array = TypeVar("Array", np.ndarray, torch.Tensor)

_AXES = {"X": 0, "Y": 1, "Z": 2}


def _numpy_friendly(fn: Callable) -> Callable:
    """Run `fn` on torch tensors; convert numpy arguments in and the result back out."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        was_numpy = any(isinstance(a, np.ndarray) for a in args)
        if not was_numpy:
            return fn(*args, **kwargs)
        converted = [torch.from_numpy(np.array(a)) if isinstance(a, np.ndarray) else a for a in args]
        dtypes = [c.dtype for c in converted if isinstance(c, torch.Tensor) and c.is_floating_point()]
        if dtypes:
            common = torch.float64 if torch.float64 in dtypes else dtypes[0]
            converted = [c.to(common) if isinstance(c, torch.Tensor) else c for c in converted]
        else:
            converted = [c.double() if isinstance(c, torch.Tensor) else c for c in converted]
        out = fn(*converted, **kwargs)
        if isinstance(out, tuple):
            return tuple(o.numpy() if isinstance(o, torch.Tensor) else o for o in out)
        return out.numpy()

    return wrapper


# ----------------------------------------------------------------------------- quaternions


@_numpy_friendly
def quat_normalize(q: Array, eps: float = 1e-12) -> Array:
    """Unit quaternions `[..., 4]`."""
    return q / q.norm(dim=-1, keepdim=True).clamp_min(eps)


@_numpy_friendly
def quat_inverse(q: Array) -> Array:
    """Conjugate `[..., 4]`, the inverse of a unit quaternion."""
    return torch.cat([q[..., :1], -q[..., 1:]], dim=-1)


@_numpy_friendly
def quat_multiply(q: Array, r: Array) -> Array:
    """Hamilton product `q * r` `[..., 4]` (broadcasting): apply r first, then q."""
    q, r = torch.broadcast_tensors(q, r)
    w1, x1, y1, z1 = q.unbind(-1)
    w2, x2, y2, z2 = r.unbind(-1)
    return torch.stack(
        (
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ),
        dim=-1,
    )


@_numpy_friendly
def quat_rotate(q: Array, v: Array) -> Array:
    """Rotate vectors `v [..., 3]` by unit quaternions `q [..., 4]` (broadcasting)."""
    shape = torch.broadcast_shapes(q.shape[:-1], v.shape[:-1])
    q = q.expand(*shape, 4)
    v = v.expand(*shape, 3)
    qvec = q[..., 1:]
    uv = torch.linalg.cross(qvec, v, dim=-1)
    uuv = torch.linalg.cross(qvec, uv, dim=-1)
    return v + 2.0 * (q[..., :1] * uv + uuv)


@_numpy_friendly
def quat_between(v0: Array, v1: Array) -> Array:
    """The shortest-arc unit quaternion rotating direction `v0 [..., 3]` onto `v1 [..., 3]`.

    Same formula as the reference `qbetween` (so the result has w >= 0); for exactly opposite
    vectors, where that formula gives 0/0, a half turn about an axis perpendicular to v0.
    """
    v0, v1 = torch.broadcast_tensors(v0, v1)
    axis = torch.linalg.cross(v0, v1, dim=-1)
    w = torch.sqrt((v0**2).sum(-1, keepdim=True) * (v1**2).sum(-1, keepdim=True)) + (v0 * v1).sum(
        -1, keepdim=True
    )
    q = torch.cat([w, axis], dim=-1)
    norm = q.norm(dim=-1, keepdim=True)
    scale = torch.sqrt((v0**2).sum(-1, keepdim=True) * (v1**2).sum(-1, keepdim=True))
    degenerate = norm <= 1e-7 * scale.clamp_min(1e-30)
    if bool(degenerate.any()):
        # Any axis perpendicular to v0: cross with the coordinate axis v0 is least aligned with.
        basis = torch.eye(3, dtype=v0.dtype, device=v0.device)[v0.abs().argmin(dim=-1)]
        perp = torch.linalg.cross(v0, basis, dim=-1)
        half_turn = torch.cat([torch.zeros_like(w), perp], dim=-1)
        q = torch.where(degenerate, half_turn, q)
        norm = q.norm(dim=-1, keepdim=True)
    return q / norm.clamp_min(1e-30)


@_numpy_friendly
def quat_fix(q: Array) -> Array:
    """Flip signs along time (axis -3 of `[..., T, J, 4]` or -2 of `[T, 4]`) so that consecutive
    quaternions have a non-negative dot product (reference `qfix`); returns a copy."""
    time_axis = 0 if q.dim() == 2 else q.dim() - 3
    q = q.movedim(time_axis, 0)
    dots = (q[1:] * q[:-1]).sum(-1)
    flips = torch.cumsum((dots < 0).to(torch.int64), dim=0) % 2
    sign = torch.ones(q.shape[:-1], dtype=q.dtype, device=q.device)
    sign[1:] = 1.0 - 2.0 * flips.to(q.dtype)
    return (q * sign[..., None]).movedim(0, time_axis)


@_numpy_friendly
def quat_from_y_angle(angle: Array) -> Array:
    """Rotation about +Y by `angle` radians `[...]` -> `[..., 4]`."""
    half = 0.5 * angle
    zero = torch.zeros_like(angle)
    return torch.stack([torch.cos(half), zero, torch.sin(half), zero], dim=-1)


# ----------------------------------------------------------------------------- matrices and 6D


@_numpy_friendly
def quat_to_matrix(q: Array) -> Array:
    """`[..., 4]` -> `[..., 3, 3]` (need not be unit: scaled like the reference)."""
    w, x, y, z = q.unbind(-1)
    two_s = 2.0 / (q * q).sum(-1)
    m = torch.stack(
        (
            1 - two_s * (y * y + z * z),
            two_s * (x * y - z * w),
            two_s * (x * z + y * w),
            two_s * (x * y + z * w),
            1 - two_s * (x * x + z * z),
            two_s * (y * z - x * w),
            two_s * (x * z - y * w),
            two_s * (y * z + x * w),
            1 - two_s * (x * x + y * y),
        ),
        dim=-1,
    )
    return m.reshape(q.shape[:-1] + (3, 3))


@_numpy_friendly
def matrix_to_quat(m: Array) -> Array:
    """`[..., 3, 3]` rotation matrices -> unit quaternions `[..., 4]` with w >= 0.

    Shepperd's method: build the quaternion from whichever of w, x, y, z is largest, which keeps
    the division well conditioned for every rotation including half turns.
    """
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    candidates = torch.stack(
        [
            torch.stack([1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01], -1),
            torch.stack([m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20], -1),
            torch.stack([m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21], -1),
            torch.stack([m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22], -1),
        ],
        dim=-2,
    )
    # Candidate k has 4 * q_k^2 in slot k; pick the largest.
    diag = torch.stack([candidates[..., k, k] for k in range(4)], -1)
    best = diag.argmax(-1)
    chosen = torch.gather(candidates, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = chosen / chosen.norm(dim=-1, keepdim=True).clamp_min(1e-30)
    return torch.where(q[..., :1] < 0, -q, q)


@_numpy_friendly
def matrix_to_cont6d(m: Array) -> Array:
    """`[..., 3, 3]` -> `[..., 6]`: first column then second column."""
    return torch.cat([m[..., :, 0], m[..., :, 1]], dim=-1)


@_numpy_friendly
def cont6d_to_matrix(d6: Array) -> Array:
    """`[..., 6]` -> `[..., 3, 3]` by Gram-Schmidt (reference `cont6d_to_matrix`)."""
    x_raw, y_raw = d6[..., 0:3], d6[..., 3:6]
    x = x_raw / x_raw.norm(dim=-1, keepdim=True)
    z = torch.linalg.cross(x, y_raw, dim=-1)
    z = z / z.norm(dim=-1, keepdim=True)
    y = torch.linalg.cross(z, x, dim=-1)
    return torch.stack([x, y, z], dim=-1)


def quat_to_cont6d(q: Array) -> Array:
    """`[..., 4]` -> `[..., 6]` (reference `quaternion_to_cont6d`)."""
    return matrix_to_cont6d(quat_to_matrix(q))


def cont6d_to_quat(d6: Array) -> Array:
    """`[..., 6]` -> unit quaternions `[..., 4]`."""
    return matrix_to_quat(cont6d_to_matrix(d6))


# ----------------------------------------------------------------------------- Euler and axis-angle


def _check_order(order: str) -> str:
    upper = order.upper()
    if len(upper) != 3 or sorted(upper) != ["X", "Y", "Z"]:
        raise ValueError(f"Euler order must be a permutation of 'XYZ' like 'ZXY', got {order!r}")
    return upper


def _axis_matrix(angle: torch.Tensor, axis: str) -> torch.Tensor:
    c, s = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    if axis == "X":
        rows = (one, zero, zero, zero, c, -s, zero, s, c)
    elif axis == "Y":
        rows = (c, zero, s, zero, one, zero, -s, zero, c)
    else:
        rows = (c, -s, zero, s, c, zero, zero, zero, one)
    return torch.stack(rows, dim=-1).reshape(angle.shape + (3, 3))


@_numpy_friendly
def euler_to_matrix(angles: Array, order: str = "XYZ", degrees: bool = True) -> Array:
    """Euler angles `[..., 3]` (listed in `order`) -> `[..., 3, 3]`; see the module docstring."""
    order = _check_order(order)
    if degrees:
        angles = angles * (math.pi / 180.0)
    mats = [_axis_matrix(angles[..., i], axis) for i, axis in enumerate(order)]
    return mats[0] @ mats[1] @ mats[2]


@_numpy_friendly
def matrix_to_euler(m: Array, order: str = "XYZ", degrees: bool = True) -> Array:
    """Rotation matrices `[..., 3, 3]` -> Euler angles `[..., 3]` listed in `order`.

    The middle angle is in [-90, 90] degrees; at gimbal lock the last angle is set to 0.
    """
    order = _check_order(order)
    i, j, k = (_AXES[a] for a in order)
    # +1 for cyclic orders (XYZ, YZX, ZXY), -1 for the others.
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    sin_mid = (sign * m[..., i, k]).clamp(-1.0, 1.0)
    mid = torch.asin(sin_mid)
    first = torch.atan2(-sign * m[..., j, k], m[..., k, k])
    last = torch.atan2(-sign * m[..., i, j], m[..., i, i])
    locked = sin_mid.abs() > 1.0 - 1e-9
    if bool(locked.any()):
        first = torch.where(locked, torch.atan2(sign * m[..., k, j], m[..., j, j]), first)
        last = torch.where(locked, torch.zeros_like(last), last)
    out = torch.stack([first, mid, last], dim=-1)
    return out * (180.0 / math.pi) if degrees else out


def euler_to_quat(angles: Array, order: str = "XYZ", degrees: bool = True) -> Array:
    """Euler angles `[..., 3]` -> unit quaternions `[..., 4]` (w >= 0)."""
    return matrix_to_quat(euler_to_matrix(angles, order, degrees))


def quat_to_euler(q: Array, order: str = "XYZ", degrees: bool = True) -> Array:
    """Unit quaternions `[..., 4]` -> Euler angles `[..., 3]` listed in `order`."""
    return matrix_to_euler(quat_to_matrix(q), order, degrees)


@_numpy_friendly
def axis_angle_to_quat(axis_angle: Array) -> Array:
    """Rotation vectors `[..., 3]` (axis * angle in radians) -> unit quaternions `[..., 4]`."""
    angle = axis_angle.norm(dim=-1, keepdim=True)
    # sin(angle / 2) / angle written with sinc, which stays finite at angle = 0.
    scale = 0.5 * torch.sinc(angle / (2.0 * math.pi))
    return torch.cat([torch.cos(0.5 * angle), axis_angle * scale], dim=-1)


@_numpy_friendly
def quat_to_axis_angle(q: Array) -> Array:
    """Unit quaternions `[..., 4]` -> rotation vectors `[..., 3]` with angle in [0, pi]."""
    q = torch.where(q[..., :1] < 0, -q, q)
    sin_half = q[..., 1:].norm(dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(sin_half, q[..., :1])
    scale = 0.5 * torch.sinc(angle / (2.0 * math.pi))
    return q[..., 1:] / scale
