"""Rotation conversions: round trips, known rotations, orthonormality, numpy/torch parity."""

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from lead.motion import rotations as rot


def _random_quats(n: int, seed: int = 0) -> np.ndarray:
    q = np.random.default_rng(seed).normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def _same_rotation(q1: np.ndarray, q2: np.ndarray, atol: float = 1e-9) -> None:
    # q and -q are the same rotation.
    np.testing.assert_allclose(np.abs((q1 * q2).sum(-1)), 1.0, atol=atol)


def test_known_rotations():
    quarter_y = rot.axis_angle_to_quat(np.array([0.0, math.pi / 2, 0.0]))
    np.testing.assert_allclose(rot.quat_rotate(quarter_y, np.array([0.0, 0.0, 1.0])), [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(rot.quat_from_y_angle(np.array(math.pi / 2)), quarter_y, atol=1e-12)
    mat = rot.euler_to_matrix(np.array([90.0, 0.0, 0.0]), "ZXY")
    np.testing.assert_allclose(mat @ np.array([1.0, 0.0, 0.0]), [0, 1, 0], atol=1e-12)
    # BVH "ZXY": R = Rz @ Rx @ Ry.
    angles = np.array([30.0, -20.0, 45.0])
    expected = (
        rot.euler_to_matrix(np.array([30.0, 0, 0]), "ZXY")
        @ rot.euler_to_matrix(np.array([-20.0, 0, 0]), "XYZ")
        @ rot.euler_to_matrix(np.array([45.0, 0, 0]), "YXZ")
    )
    np.testing.assert_allclose(rot.euler_to_matrix(angles, "ZXY"), expected, atol=1e-12)


def test_quaternion_algebra():
    q, r = _random_quats(50, 1), _random_quats(50, 2)
    v = np.random.default_rng(3).normal(size=(50, 3))
    # (q r) v == q (r v), and the matrix acts like the quaternion.
    np.testing.assert_allclose(
        rot.quat_rotate(rot.quat_multiply(q, r), v), rot.quat_rotate(q, rot.quat_rotate(r, v)), atol=1e-12
    )
    np.testing.assert_allclose(
        (rot.quat_to_matrix(q) @ v[..., None])[..., 0], rot.quat_rotate(q, v), atol=1e-12
    )
    identity = rot.quat_multiply(q, rot.quat_inverse(q))
    np.testing.assert_allclose(identity, np.tile([1.0, 0, 0, 0], (50, 1)), atol=1e-12)


def test_quat_between_including_opposite_vectors():
    rng = np.random.default_rng(4)
    v0, v1 = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
    v0[:3] = [[1, 0, 0], [0, 2, 0], [0, 0, 1]]
    v1[:3] = -v0[:3]
    q = rot.quat_between(v0, v1)
    assert np.isfinite(q).all()
    out = rot.quat_rotate(q, v0)
    np.testing.assert_allclose(
        out / np.linalg.norm(out, axis=-1, keepdims=True),
        v1 / np.linalg.norm(v1, axis=-1, keepdims=True),
        atol=1e-9,
    )


@pytest.mark.parametrize("order", ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"])
def test_euler_round_trip(order):
    rng = np.random.default_rng(5)
    angles = rng.uniform(-179, 179, size=(200, 3))
    angles[:, 1] = rng.uniform(-89, 89, size=200)
    mats = rot.euler_to_matrix(angles, order)
    np.testing.assert_allclose(rot.matrix_to_euler(mats, order), angles, atol=1e-8)
    _same_rotation(rot.euler_to_quat(angles, order), rot.matrix_to_quat(mats))
    np.testing.assert_allclose(rot.quat_to_euler(rot.euler_to_quat(angles, order), order), angles, atol=1e-7)
    # Gimbal lock still gives back the same rotation.
    locked = np.array([[30.0, 90.0, 10.0], [-50.0, -90.0, 20.0]])
    back = rot.euler_to_matrix(rot.matrix_to_euler(rot.euler_to_matrix(locked, order), order), order)
    np.testing.assert_allclose(back, rot.euler_to_matrix(locked, order), atol=1e-6)


def test_matrix_6d_round_trips_and_orthonormality():
    q = _random_quats(500, 6)
    q[:4] = [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]]  # half turns and identity
    mats = rot.quat_to_matrix(q)
    np.testing.assert_allclose(
        mats @ np.swapaxes(mats, -1, -2), np.broadcast_to(np.eye(3), mats.shape), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(mats), 1.0, atol=1e-12)
    _same_rotation(rot.matrix_to_quat(mats), q)
    d6 = rot.quat_to_cont6d(q)
    np.testing.assert_allclose(d6[..., :3], mats[..., :, 0])  # first column first
    np.testing.assert_allclose(rot.cont6d_to_matrix(d6), mats, atol=1e-12)
    _same_rotation(rot.cont6d_to_quat(d6), q)
    # A perturbed 6D vector still decodes to a proper rotation.
    noisy = rot.cont6d_to_matrix(d6 + 0.1 * np.random.default_rng(7).normal(size=d6.shape))
    np.testing.assert_allclose(
        noisy @ np.swapaxes(noisy, -1, -2), np.broadcast_to(np.eye(3), noisy.shape), atol=1e-12
    )


def test_axis_angle_round_trip():
    aa = np.random.default_rng(8).normal(size=(100, 3))
    aa = aa / np.linalg.norm(aa, axis=-1, keepdims=True) * np.random.default_rng(9).uniform(0, 3.1, (100, 1))
    np.testing.assert_allclose(rot.quat_to_axis_angle(rot.axis_angle_to_quat(aa)), aa, atol=1e-9)
    np.testing.assert_allclose(rot.axis_angle_to_quat(np.zeros(3)), [1, 0, 0, 0])


def test_torch_matches_numpy_and_keeps_type():
    q = _random_quats(10, 10)
    v = np.random.default_rng(11).normal(size=(10, 3))
    out_t = rot.quat_rotate(torch.from_numpy(q).float(), torch.from_numpy(v).float())
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float32
    np.testing.assert_allclose(out_t.numpy(), rot.quat_rotate(q, v), atol=1e-5)
    assert isinstance(rot.quat_to_cont6d(q), np.ndarray)


def test_quat_fix_makes_time_continuous():
    q = _random_quats(20, 12)[:, None]  # [T, J=1, 4]
    smooth = np.repeat(q[:1], 20, axis=0) * np.where(np.arange(20) % 2, -1.0, 1.0)[:, None, None]
    fixed = rot.quat_fix(smooth)
    assert ((fixed[1:] * fixed[:-1]).sum(-1) > 0).all()


@pytest.mark.parametrize("order", ["ZXY", "XYZ", "YZX"])
def test_euler_matches_scipy_intrinsic(order):
    angles = np.random.default_rng(13).uniform(-180, 180, size=(20, 3))
    expected = Rotation.from_euler(order, angles, degrees=True).as_matrix()  # uppercase = intrinsic
    np.testing.assert_allclose(rot.euler_to_matrix(angles, order), expected, atol=1e-12)
