"Property and error-message tests for `deblur_nbdev.camera_motion`."
import json
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.spatial.transform import Rotation

from deblur_nbdev.camera_motion import (IMU, Poses, deepgyro_calibration, exposure_times, identity_poses, imu_poses,
                                        integrate_gyro, read_deepgyro, read_imu_csv, row_times, synthetic_shake)

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


def test_imu_round_trip_rotation_and_translation():
    "Simulated IMU of a spinning, accelerating camera (with gravity, mount rotation, clock offset) integrates back to the truth."
    ts, e, f, A = 0.3, 0.1, 8.0, np.array([0.5, -0.3, 0.8])
    w, g = np.array([0.4, -0.9, 0.25]), np.array([0, 9.81, 0])
    Ric = Rotation.from_euler("xyz", [90, 0, 30], degrees=True).as_matrix()
    off = 0.007
    t_imu = np.arange(0, 0.5, 0.001); t_cam = t_imu + off
    C = lambda t: Rotation.from_rotvec(np.outer(t - ts, w))
    s = lambda t: np.clip(t - ts, 0, None)
    acc = lambda t: np.where(s(t)[:, None] > 0, A * np.sin(2 * np.pi * f * s(t))[:, None], 0)
    pos = lambda t: A * (s(t) / (2 * np.pi * f) - np.sin(2 * np.pi * f * s(t)) / (2 * np.pi * f) ** 2)[:, None]
    f_cam = C(t_cam).inv().apply(acc(t_cam) - g)
    est = imu_poses(IMU(t_imu, np.tile(Ric.T @ w, (len(t_imu), 1)), f_cam @ Ric), ts, e, R_imu_cam=Ric, time_offset=off)
    R = C(ts + est.times).inv().as_matrix()
    np.testing.assert_allclose(est.R, R, atol=1e-9)
    np.testing.assert_allclose(est.T, -np.einsum("nij,nj->ni", R, pos(ts + est.times)), atol=2e-6)
    assert est.times[0] == 0 and est.times[-1] == pytest.approx(e)


def test_imu_gravity_from_window_when_no_earlier_data():
    "A still camera whose record starts at the exposure: gravity comes from the window itself, no translation."
    t = np.arange(0, 0.1, 0.001)
    est = imu_poses(IMU(t, np.zeros((len(t), 3)), np.tile([0.3, -9.7, 0.5], (len(t), 1))), 0.0, 0.05)
    np.testing.assert_allclose(est.T, 0, atol=1e-12)


# ---------------------------------------------------------------- bad inputs name the argument

def test_poses_errors():
    with pytest.raises(ValueError, match=r"times: must be strictly increasing"):
        Poses(np.tile(np.eye(3), (2, 1, 1)), np.zeros((2, 3)), [0.1, 0.1])
    with pytest.raises(ValueError, match=r"times: must have shape \(2,\)"):
        Poses(np.tile(np.eye(3), (2, 1, 1)), np.zeros((2, 3)), [0.0])
    with pytest.raises(ValueError, match=r"R\[0\] is not a rotation"):
        Poses(2 * np.eye(3), np.zeros(3), [0])
    with pytest.raises(ValueError, match=r"T: must have shape \(1, 3\)"):
        Poses(np.eye(3), np.zeros((2, 3)), [0])
    p = identity_poses(3, duration=0.2)
    with pytest.raises(ValueError, match=r"outside the trajectory's time range \[0, 0.2\]"):
        p.at(0.3)
    with pytest.raises(ValueError, match=r"outside the trajectory's time range"):
        p.rebase(-0.1)
    with pytest.raises(ValueError, match=r"d: missing key"):
        Poses.from_dict({"R": [np.eye(3).tolist()]})


def test_exposure_and_rows_errors():
    with pytest.raises(ValueError, match="exposure must be > 0"): exposure_times(0, 0.001)
    with pytest.raises(ValueError, match="exposure must be > 0"): exposure_times(-1, 0.001)
    with pytest.raises(ValueError, match="sample_interval: "): exposure_times(0.01, 0)
    with pytest.raises(ValueError, match=r"sample_interval: .*> exposure"): exposure_times(0.01, 0.02)
    with pytest.raises(ValueError, match="t_readout"): row_times(10, -0.01)
    with pytest.raises(ValueError, match="height"): row_times(0, 0.01)


def test_shake_errors():
    with pytest.raises(ValueError, match="duration"): synthetic_shake(0)
    with pytest.raises(ValueError, match="rate"): synthetic_shake(0.1, rate=0)
    with pytest.raises(ValueError, match="bandwidth"): synthetic_shake(0.1, bandwidth=600)
    with pytest.raises(ValueError, match="rot_std"): synthetic_shake(0.1, rot_std=-1)


def test_imu_validation_errors():
    g = np.zeros((3, 3))
    with pytest.raises(ValueError, match="timestamps: the IMU record is empty"): IMU([], np.zeros((0, 3)))
    with pytest.raises(ValueError, match="timestamps: NaN or inf at index 1"): IMU([0, np.inf, 2], g)
    with pytest.raises(ValueError, match="timestamps: duplicated at index 2"): IMU([0, 1, 1], g)
    with pytest.raises(ValueError, match=r"timestamps: not sorted .* at index 1"): IMU([1, 0, 2], g)
    with pytest.raises(ValueError, match=r"gyro: must have shape \(3, 3\)"): IMU([0, 1, 2], np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"accel: must have shape \(3, 3\)"): IMU([0, 1, 2], g, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="gyro: NaN or inf at index 1"): IMU([0, 1, 2], [[0, 0, 0], [np.nan, 0, 0], [0, 0, 0]])


def test_imu_poses_errors():
    t = np.arange(0, 1, 0.01); rec = IMU(t, np.zeros((len(t), 3)))
    with pytest.raises(ValueError, match=r"exposure window \[0.95, 1.05\] s lies outside the IMU record \[0, 0.99\] s"):
        imu_poses(rec, 0.95, 0.1)
    with pytest.raises(ValueError, match="exposure window .* outside the IMU record"):
        imu_poses(rec, 0.1, 0.1, time_offset=0.5)
    with pytest.raises(ValueError, match="duration: must be > 0"): imu_poses(rec, 0.1, 0)
    with pytest.raises(ValueError, match=r"R_imu_cam\[0\] is not a rotation"): imu_poses(rec, 0.1, 0.1, R_imu_cam=2 * np.eye(3))
    with pytest.raises(ValueError, match="times: .* outside the gyro record"): integrate_gyro(t, rec.gyro, [0.5, 2])


# ---------------------------------------------------------------- readers

def test_read_imu_csv(tmp_path):
    p = tmp_path / "imu.csv"
    p.write_text("t, gx, gy, gz, ax, ay, az, temp\n0,0.1,0.2,0.3,0,-9.81,0,20\n0.005,0.1,0.2,0.4,0,-9.8,0,20\n")
    rec = read_imu_csv(p)
    np.testing.assert_allclose(rec.t, [0, 0.005]); np.testing.assert_allclose(rec.gyro[:, 2], [0.3, 0.4])
    np.testing.assert_allclose(rec.accel[:, 1], [-9.81, -9.8])
    q = tmp_path / "gyro_only.csv"; q.write_text("gz,gy,gx,t\n3,2,1,0\n6,5,4,1\n")
    rec = read_imu_csv(q)
    assert rec.accel is None; np.testing.assert_allclose(rec.gyro, [[1, 2, 3], [4, 5, 6]])


def test_read_imu_csv_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv"): read_imu_csv(tmp_path / "missing.csv")
    (tmp_path / "cols.csv").write_text("t,gx,gy\n0,0,0\n")
    with pytest.raises(ValueError, match=r"cols.csv: missing column\(s\) \['gz'\]"): read_imu_csv(tmp_path / "cols.csv")
    (tmp_path / "junk.csv").write_text("t,gx,gy,gz\n0,a,b,c\n")
    with pytest.raises(ValueError, match="junk.csv: cannot read"): read_imu_csv(tmp_path / "junk.csv")
    (tmp_path / "dup.csv").write_text("t,gx,gy,gz\n0,0,0,0\n0,0,0,0\n")
    with pytest.raises(ValueError, match="dup.csv: timestamps: duplicated at index 1"): read_imu_csv(tmp_path / "dup.csv")
    (tmp_path / "acc.csv").write_text("t,gx,gy,gz,ax\n0,0,0,0,0\n1,0,0,0,0\n")
    with pytest.raises(ValueError, match="acc.csv: accelerometer columns"): read_imu_csv(tmp_path / "acc.csv")


def test_read_deepgyro(tmp_path):
    (tmp_path / "imu.txt").write_text(
        "4 2000000000 0.1 0.2 0.3\n1 2000000000 0 -9.8 0\n4 2002000000 0.1 0.2 0.4\n"
        "2 2002000000 9 9 9\n1 2004000000 0 -9.6 0\n4 2004000000 0.1 0.2 0.5\n")
    (tmp_path / "images.txt").write_text("2000500000 3000000\n2033833333 3000000\n")
    rec, images = read_deepgyro(tmp_path)
    np.testing.assert_allclose(rec.t, [2.0, 2.002, 2.004], atol=1e-12)
    np.testing.assert_allclose(rec.gyro[:, 2], [0.3, 0.4, 0.5])
    np.testing.assert_allclose(rec.accel[:, 1], [-9.8, -9.7, -9.6])
    assert images.dtype == np.float64 and images.shape == (2, 2)
    np.testing.assert_allclose(images, [[2.0005, 0.003], [2.033833333, 0.003]], atol=1e-12)


def test_read_deepgyro_no_accel_and_errors(tmp_path):
    (tmp_path / "imu.txt").write_text("4 0 0 0 1\n4 1000000 0 0 1\n")
    (tmp_path / "images.txt").write_text("0 1000000\n")
    rec, images = read_deepgyro(tmp_path)
    assert rec.accel is None and images.shape == (1, 2)
    with pytest.raises(FileNotFoundError, match="nowhere"): read_deepgyro(tmp_path / "nowhere")
    (tmp_path / "images.txt").unlink()
    with pytest.raises(FileNotFoundError, match="images.txt"): read_deepgyro(tmp_path)
    (tmp_path / "imu.txt").write_text("1 0 0 -9.8 0\n")
    with pytest.raises(ValueError, match=r"imu.txt: no gyroscope rows \(type 4\)"): read_deepgyro(tmp_path)
    (tmp_path / "imu.txt").write_text("4 0 0 0\n")
    with pytest.raises(ValueError, match="imu.txt: data row 1 has 4 fields"): read_deepgyro(tmp_path)


IMU_TXT = "4 2000000000 0.1 0.2 0.3\n1 2000000000 0 -9.8 0\n4 2002000000 0.1 0.2 0.4\n4 2004000000 0.1 0.2 0.5\n"


@pytest.mark.parametrize("layout", ["published", "flat"])
def test_read_deepgyro_layouts(tmp_path, layout):
    imu_p = tmp_path / "imu" / "imu.txt" if layout == "published" else tmp_path / "imu.txt"
    img_p = tmp_path / "images" / "images.txt" if layout == "published" else tmp_path / "images.txt"
    imu_p.parent.mkdir(exist_ok=True)
    img_p.parent.mkdir(exist_ok=True)
    imu_p.write_text(IMU_TXT)
    img_p.write_text("2000500000 3000000\n2002500000 1000000\n")
    rec, images = read_deepgyro(tmp_path)
    np.testing.assert_allclose(rec.t, [2.0, 2.002, 2.004], atol=1e-12)
    np.testing.assert_allclose(images, [[2.0005, 0.003], [2.0025, 0.001]], atol=1e-12)
    img_p.write_text("2000500000 3000000\n# a comment\n2002500000 -1000000\n")
    with pytest.raises(ValueError, match=r"images.txt: data row 2 has exposure -1000000 ns; exposures must be > 0"):
        read_deepgyro(tmp_path)
    img_p.write_text("2000500000 0\n")
    with pytest.raises(ValueError, match="images.txt: data row 1 has exposure 0 ns"): read_deepgyro(tmp_path)
    img_p.unlink()
    with pytest.raises(FileNotFoundError, match=r"no images/images.txt or images.txt"): read_deepgyro(tmp_path)


@pytest.mark.parametrize("step,unit", [(5.0, "milliseconds: divide by 1000"), (2500.0, "microseconds: divide by 1e6"),
                                       (5e6, "nanoseconds: divide by 1e9"), (1e-8, "convert them to seconds")])
def test_timestamps_not_in_seconds_are_refused(step, unit):
    with pytest.raises(ValueError, match=f"timestamps: must be in seconds.*{unit}"):
        IMU(np.arange(20) * step, np.zeros((20, 3)))
    with pytest.raises(ValueError, match=unit): read_imu_csv_from_rows(np.arange(20) * step)


def read_imu_csv_from_rows(t):
    "An IMU record read from a CSV written with these timestamps (errors propagate)."
    import tempfile, pathlib
    p = pathlib.Path(tempfile.mkdtemp()) / "imu.csv"
    np.savetxt(p, np.column_stack([t, np.zeros((len(t), 3))]), delimiter=",", header="t,gx,gy,gz", comments="")
    return read_imu_csv(p)


def test_timestamps_in_seconds_pass_at_the_limits():
    for step in (1.0, 1e-6, 1 / 400):
        assert len(IMU(np.arange(5) * step, np.zeros((5, 3)))) == 5


def test_gyro_only_ignores_the_accelerometer():
    t = np.arange(0, 0.5, 0.001)
    acc = np.column_stack([np.sin(30 * t), 9.81 + 0 * t, 0 * t])
    rec = IMU(t, np.tile([0.2, -0.4, 0.1], (len(t), 1)), acc)
    full, rot = imu_poses(rec, 0.3, 0.05), imu_poses(rec, 0.3, 0.05, gyro_only=True)
    assert np.abs(full.T).max() > 1e-5
    np.testing.assert_array_equal(rot.T, 0)
    np.testing.assert_allclose(rot.R, full.R, atol=1e-15)


def test_reflection_gets_the_deepgyro_hint():
    t = np.arange(0, 1, 0.01)
    rec = IMU(t, np.zeros((len(t), 3)))
    Ri = np.array([[0.0, 1, 0], [1, 0, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match=r"R_imu_cam: det=-1, a reflection, not a rotation; .*gyr.dot\(Ri\).*-Ri.T"):
        imu_poses(rec, 0.1, 0.1, R_imu_cam=Ri)
    with pytest.raises(ValueError, match=r"R_imu_cam\[0\] is not a rotation"):
        imu_poses(rec, 0.1, 0.1, R_imu_cam=2 * Ri)


@FAST
@given(vec3, st.integers(0, 5))
def test_minus_ri_transpose_is_minus_gyr_dot_ri(w, k):
    "The proper rotation −Riᵀ applied to ω gives −(ω·Ri): same axis, opposite sense (ω is a pseudo-vector)."
    Q = Rotation.from_rotvec([0.3 * k, -0.2, 0.1 * k]).as_matrix()
    Ri = -Q                                                 # a reflection, det −1
    R, off = deepgyro_calibration(Ri, 0.01, 5.0, 3.0)
    assert np.isclose(np.linalg.det(R), 1) and np.isclose(off, 2.01)
    np.testing.assert_allclose(R @ w, -w.dot(Ri), atol=1e-12)


def test_deepgyro_calibration_matches_deepgyro_image_motion(tmp_path):
    "imu_poses with −Riᵀ and td + t_f0 − t_g0 reproduces DeepGyro's exp(∫ gyr·Ri) from the first image start."
    (tmp_path / "imu").mkdir()
    (tmp_path / "images").mkdir()
    ns = 1_000_000_000 + np.arange(300) * 2_500_000
    speed = 0.3 + 6 * (ns - ns[0]) / 1e9
    u = np.array([0.0, 0.6, 0.8])
    (tmp_path / "imu" / "imu.txt").write_text("".join(f"4 {n} {a:.9f} {b:.9f} {c:.9f}\n" for n, (a, b, c)
                                                      in zip(ns, np.outer(speed, u))))
    (tmp_path / "images" / "images.txt").write_text("9000000000 25000000\n")
    rec, images = read_deepgyro(tmp_path)
    Ri, td = np.array([[1.0, 0, 0], [0, 0, 1], [0, 1, 0]]), -0.2
    R, off = deepgyro_calibration(Ri, td, images[0, 0], rec.t[0])
    p = imu_poses(rec, images[0, 0], images[0, 1], R_imu_cam=R, time_offset=off)
    tg = (ns - ns[0]) / 1e9 + td
    tt = np.linspace(0, images[0, 1], 20001)
    w = np.stack([np.interp(tt, tg, rec.gyro.dot(Ri)[:, i]) for i in range(3)], -1)
    R_dg = Rotation.from_rotvec(((w[1:] + w[:-1]) / 2 * np.diff(tt)[:, None]).sum(0)).as_matrix()
    np.testing.assert_allclose(p.R[-1], R_dg, atol=1e-9)
    with pytest.raises(ValueError, match="Ri: det=\\+1"): deepgyro_calibration(np.eye(3), td, 0, 0)
    with pytest.raises(ValueError, match="td: must be a finite"): deepgyro_calibration(Ri, np.nan, 0, 0)


def test_window_label_names_t_readout():
    t = np.arange(0, 1, 0.01)
    rec = IMU(t, np.zeros((len(t), 3)))
    with pytest.raises(ValueError, match=r"window \(exposure \+ t_readout = 0.2 s\) \[0.85, 1.05\] s lies outside"):
        imu_poses(rec, 0.85, 0.2, window="exposure + t_readout = 0.2 s")
