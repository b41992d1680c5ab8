"Property-based tests (hypothesis) for `deblur_nbdev.camera_motion`; the constructed cases are in nbs/01_camera_motion."
import json
import numpy as np
from hypothesis import given, settings, strategies as st
from scipy.spatial.transform import Rotation

from deblur_nbdev.camera_motion import (Poses, deepgyro_calibration, exposure_times, integrate_gyro, row_times,
                                        synthetic_shake)

FAST = settings(max_examples=30, deadline=None)
vec3 = st.lists(st.floats(-5, 5, allow_nan=False), min_size=3, max_size=3).map(np.array)


def random_poses(seed, n=6):
    rng = np.random.default_rng(seed)
    R = Rotation.from_rotvec(rng.normal(0, 0.3, (n, 3))).as_matrix()
    return Poses(R, rng.normal(0, 0.05, (n, 3)), np.cumsum(rng.uniform(0.01, 0.1, n)))


# ---------------------------------------------------------------- properties

@FAST
@given(w=vec3, dt=st.floats(1e-3, 1.0), n=st.integers(2, 50), t0=st.floats(-100, 100))
def test_constant_angular_velocity_integrates_exactly(w, dt, n, t0):
    t = t0 + np.linspace(0, dt, n)
    C = integrate_gyro(t, np.tile(w, (n, 1)), t[[0, n // 2, -1]])
    truth = Rotation.from_rotvec(np.outer(t[[0, n // 2, -1]] - t[0], w))
    assert (C * truth.inv()).magnitude().max() < 1e-9


@FAST
@given(seed=st.integers(0, 10_000), u=st.floats(0, 1))
def test_rebase_makes_t_ref_identity(seed, u):
    p = random_poses(seed)
    t_ref = p.times[0] + u * (p.times[-1] - p.times[0])
    r = p.rebase(t_ref).at(t_ref)
    np.testing.assert_allclose(r.R[0], np.eye(3), atol=1e-12)
    np.testing.assert_allclose(r.T[0], np.zeros(3), atol=1e-12)


@FAST
@given(seed=st.integers(0, 10_000), u=st.floats(0, 1))
def test_rebase_preserves_relative_motion(seed, u):
    "A point moved by the original poses and by the rebased ones ends in the same place at every original sample."
    p = random_poses(seed)
    t_ref = p.times[0] + u * (p.times[-1] - p.times[0])
    r, q = p.at(t_ref), p.rebase(t_ref).at(p.times)
    X0 = np.array([0.2, -0.1, 2.0]); Xr = r.R[0] @ X0 + r.T[0]
    np.testing.assert_allclose(np.einsum("nij,j->ni", q.R, Xr) + q.T, np.einsum("nij,j->ni", p.R, X0) + p.T, atol=1e-12)


@FAST
@given(seed=st.integers(0, 10_000))
def test_poses_dict_round_trip(seed):
    p = random_poses(seed)
    q = Poses.from_dict(json.loads(json.dumps(p.to_dict())))
    assert q.R.tobytes() == p.R.tobytes() and q.T.tobytes() == p.T.tobytes() and q.times.tobytes() == p.times.tobytes()


@FAST
@given(seed=st.integers(0, 10_000))
def test_at_samples_returns_samples(seed):
    p = random_poses(seed)
    q = p.at(p.times)
    np.testing.assert_allclose(q.R, p.R, atol=1e-12)
    np.testing.assert_allclose(q.T, p.T, atol=1e-15)


@FAST
@given(seed=st.integers(0, 2**31 - 1), duration=st.floats(0.01, 0.3))
def test_shake_is_seeded(seed, duration):
    a, b = synthetic_shake(duration, seed=seed), synthetic_shake(duration, seed=seed)
    assert a.R.tobytes() == b.R.tobytes() and a.T.tobytes() == b.T.tobytes() and a.times.tobytes() == b.times.tobytes()
    c = synthetic_shake(duration, seed=seed + 1)
    assert not np.array_equal(a.R, c.R) and not np.array_equal(a.T, c.T)
    np.testing.assert_array_equal(a.R[0], np.eye(3)); np.testing.assert_array_equal(a.T[0], np.zeros(3))
    assert a.times[0] == 0 and a.times[-1] == duration and np.all(np.diff(a.times) > 0)


@FAST
@given(exposure=st.floats(1e-4, 1.0), k=st.integers(1, 200), frac=st.floats(0, 0.999))
def test_exposure_times_grid(exposure, k, frac):
    sf = exposure / (k + frac)
    t = exposure_times(exposure, sf)
    assert len(t) == k + 1 and t[0] == 0
    assert t[-1] <= exposure * (1 + 1e-9)
    np.testing.assert_allclose(np.diff(t), sf)


@FAST
@given(height=st.integers(1, 2000), t_readout=st.floats(0, 0.1))
def test_row_times(height, t_readout):
    r = row_times(height, t_readout)
    assert r.shape == (height,) and r.dtype == np.float64 and r[0] == 0
    # atol covers subnormal t_readout, where t·r/h and r·(t/h) round differently (CI found 5e-324)
    np.testing.assert_allclose(r, np.arange(height) * t_readout / height, rtol=1e-12, atol=1e-300)
    assert (np.diff(r) >= 0).all()


@FAST
@given(vec3, st.integers(0, 5))
def test_minus_ri_transpose_is_minus_gyr_dot_ri(w, k):
    "The proper rotation −Riᵀ applied to ω gives −(ω·Ri): same axis, opposite sense (ω is a pseudo-vector)."
    Q = Rotation.from_rotvec([0.3 * k, -0.2, 0.1 * k]).as_matrix()
    Ri = -Q                                                 # a reflection, det −1
    R, off = deepgyro_calibration(Ri, 0.01, 5.0, 3.0)
    assert np.isclose(np.linalg.det(R), 1) and np.isclose(off, 2.01)
    np.testing.assert_allclose(R @ w, -w.dot(Ri), atol=1e-12)
