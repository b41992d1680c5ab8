"Re-alignment (11_realign): PnP pieces, bad input, the ≥5× / <1 px criterion on the simulator, `deblur_realign` in a subprocess."
import numpy as np, pytest
from deblur_nbdev.realign import sift_matches, realign, RealignError, solve_pnp, points_3d, blur_offsets
from deblur_nbdev.blur_model import intrinsics
from deblur_nbdev.camera_motion import Poses, imu_poses
from deblur_nbdev.realign import alignment_error
from deblur_nbdev.rig_sim import default_rig, simulate_capture
from deblur_nbdev.rig_dataset import write_capture_files
import json, subprocess, sys
from pathlib import Path

BIN = Path(sys.executable).parent

K = intrinsics(100, 100, 39.5, 29.5)

def test_textureless_images_raise_realign_error():
    flat = np.full((60, 80, 3), 0.5, np.float32)
    assert len(sift_matches(flat, flat).src) == 0
    with pytest.raises(RealignError, match="SIFT matches"):
        realign(flat, np.full((60, 80), 2.0), K, flat, K, np.eye(3), np.zeros(3))

def test_no_depth_raises_realign_error():
    img = np.random.default_rng(0).random((60, 80, 3)).astype(np.float32)
    with pytest.raises(RealignError, match="no valid depth"): realign(img, np.zeros((60, 80)), K, img, K)

def test_degenerate_pnp_returns_none():
    X = np.tile([[0.0, 0.0, 2.0]], (20, 1)); x = np.tile([[39.5, 29.5]], (20, 1))     # every point the same
    assert solve_pnp(X, x, K, "SQPNP", 2.0) is None
    with pytest.raises(ValueError, match="method"): solve_pnp(X, x, K, "DLS", 2.0)

def test_pnp_recovers_an_exact_pose():
    from scipy.spatial.transform import Rotation
    g = np.random.default_rng(1)
    X = np.c_[g.uniform(-1, 1, (60, 2)), g.uniform(2, 4, 60)]
    R = Rotation.from_rotvec([0.02, -0.03, 0.01]).as_matrix(); T = np.array([0.05, -0.02, 0.03])
    Xc = X @ R.T + T; x = Xc[:, :2] / Xc[:, 2:] * 100 + [39.5, 29.5]
    for m in ("ITERATIVE", "EPNP", "SQPNP", "AP3P"):
        Re, Te, n = solve_pnp(X, x, K, m, 1.0)
        np.testing.assert_allclose(Re, R, atol=1e-5); np.testing.assert_allclose(Te, T, atol=1e-5); assert n == 60

def test_blur_offsets_of_a_pure_translation():
    P = Poses(np.stack([np.eye(3)] * 3), [[0, 0, 0], [0.01, 0, 0], [0.02, 0, 0]], [0, 0.01, 0.02])
    off = blur_offsets(np.array([[0, 0, 2.0], [0, 0, 1.0]]), K, P)
    np.testing.assert_allclose(off, [[0.5, 0], [1.0, 0]], atol=1e-12)      # mean of 0, f·t/z, 2f·t/z

def test_points_3d_holes_are_nan():
    d = np.full((60, 80), 2.0); d[10, 20] = 0
    X = points_3d(d, K, [[39.5, 29.5], [20, 10]])
    np.testing.assert_allclose(X[0], [0, 0, 2.0]); assert np.isnan(X[1]).all()

@pytest.mark.parametrize("seed", [0, 2])
def test_realign_fixes_a_temporal_shift(seed):
    rig = default_rig(0.5); cap = simulate_capture(rig, seed=seed, shift=0.05)
    ze, ph = rig["zed"], rig["phone"]
    R0, T0 = rig.relative("zed", "phone")
    res = realign(cap.zed.image, cap.zed.depth, ze.K, cap.blurry, ph.K, R0, T0, poses=imu_poses(cap.imu, cap.t_start, cap.exposure))
    e0 = alignment_error(cap.zed.depth, ze.K, ph.K, ph.size, cap.R, cap.T, R0, T0)
    e1 = alignment_error(cap.zed.depth, ze.K, ph.K, ph.size, cap.R, cap.T, res.R, res.T)
    assert e0 > 3 and e1 < 1.0 and e0 / e1 >= 5, (e0, e1)
    assert res.best.method != "initial" and res.best.score > res.candidates[0].score

def test_alignment_error_is_zero_for_the_true_pose():
    rig = default_rig(0.25); cap = simulate_capture(rig, seed=1)
    ze, ph = rig["zed"], rig["phone"]
    assert alignment_error(cap.zed.depth, ze.K, ph.K, ph.size, cap.R, cap.T, cap.R, cap.T) == 0
    with pytest.raises(ValueError, match="no ZED point"):
        alignment_error(np.zeros(ze.size), ze.K, ph.K, ph.size, cap.R, cap.T, cap.R, cap.T)

def test_deblur_realign_skips_bad_captures_and_goes_on(tmp_path):
    rig = default_rig(0.5); cap = simulate_capture(rig, seed=0, shift=0.05)
    csv_path = write_capture_files([cap, cap], tmp_path / "s")
    import cv2
    cv2.imwrite(str(tmp_path / "s" / "cap001_phone.png"), np.full((240, 320, 3), 128, np.uint8))   # nothing to match
    r = subprocess.run([str(BIN / "deblur_realign"), "--rig", str(tmp_path / "s" / "rig.json"), "--captures", str(csv_path),
                        "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "o" / "realign_report.json").read_text())
    assert rep["realigned"] == ["cap000_phone"] and rep["failed"][0]["capture"] == "cap001_phone"
    assert "SIFT matches" in rep["failed"][0]["error"] and "cap001_phone: skipped" in r.stderr
    pose = json.loads((tmp_path / "o" / "cap000_phone_pose.json").read_text())
    e = alignment_error(cap.zed.depth, rig["zed"].K, rig["phone"].K, rig["phone"].size, cap.R, cap.T, np.array(pose["R"]), np.array(pose["T"]))
    assert e < 1.0 and len(pose["candidates"]) == 17
