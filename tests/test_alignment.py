"Alignment (10_alignment): crack filling, rig files, bad input, accuracy on the simulator, and `deblur_align` run in a subprocess."
import json
import numpy as np, pytest
import subprocess, sys
from pathlib import Path
from deblur_nbdev.alignment import (fill_cracks, align_view, relative_pose, read_rig, rig_from_dict, check_size, read_captures,
                                    upsample_rgbd, zed_pose, RIG_CAMERAS)
from deblur_nbdev.blur_model import intrinsics
from deblur_nbdev.rig_sim import default_rig, simulate_capture, Camera, Rig
from deblur_nbdev.rig_dataset import write_capture_files

BIN = Path(sys.executable).parent
def run(cmd, *args, cwd=None):
    return subprocess.run([str(BIN / cmd), *args], capture_output=True, text=True, cwd=cwd, timeout=600)

def test_fill_cracks_fills_gaps_not_holes():
    d = np.full((20, 20), 2.0, np.float32); ix = np.arange(400, dtype=np.int32).reshape(20, 20)
    d[5, :] = 0; ix[5, :] = -1; d[:, 9] = 0; ix[:, 9] = -1            # a gap row and a gap column (crossing)
    d[12:18, 12:18] = 0; ix[12:18, 12:18] = -1                         # a real 6×6 hole
    f, fi = fill_cracks(d, ix)
    assert (f[5, :] == 2).all() and (f[:, 9] == 2).all()
    assert (f[13:17, 13:17] == 0).all() and (fi[13:17, 13:17] == -1).all()
    assert ((f > 0) == (fi >= 0)).all()

def test_fill_cracks_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="depth, index"): fill_cracks(np.ones((4, 4)), np.zeros((4, 5), np.int32))

def test_relative_pose_composes():
    from scipy.spatial.transform import Rotation
    Ra, Rb = Rotation.from_rotvec([[0.1, -0.2, 0.05], [-0.03, 0.1, 0.2]]).as_matrix()
    Ta, Tb = np.array([0.1, 0.2, -0.1]), np.array([-0.3, 0.0, 0.05])
    R, T = relative_pose(Ra, Ta, Rb, Tb)
    X = np.random.default_rng(0).normal(size=(10, 3))
    np.testing.assert_allclose((X @ Ra.T + Ta) @ R.T + T, X @ Rb.T + Tb, atol=1e-12)

def _rig():
    K = intrinsics(100, 100, 39.5, 29.5)
    return Rig({n: Camera(n, K, (60, 80)) for n in RIG_CAMERAS}, {n: (np.eye(3), np.zeros(3)) for n in RIG_CAMERAS})

def test_rig_json_round_trip_and_errors(tmp_path):
    d = _rig().to_dict(); p = tmp_path / "rig.json"; p.write_text(json.dumps(d))
    r = read_rig(p)
    assert set(r.cameras) == set(RIG_CAMERAS) and r["phone"].size == (60, 80)
    with pytest.raises(FileNotFoundError, match="rig"): read_rig(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"): read_rig(tmp_path / "bad.json")
    bad = json.loads(json.dumps(d)); del bad["cameras"]["dslr"]
    with pytest.raises(ValueError, match="dslr"): rig_from_dict(bad)
    bad = json.loads(json.dumps(d)); bad["poses"]["phone"]["R"] = [[1, 0, 0], [0, 1, 0], [0, 0, 2]]
    with pytest.raises(ValueError, match="phone"): rig_from_dict(bad)
    bad = json.loads(json.dumps(d)); del bad["poses"]["phone"]
    with pytest.raises(ValueError, match="phone"): rig_from_dict(bad)
    bad = json.loads(json.dumps(d)); bad["cameras"]["zed"]["size"] = [60]
    with pytest.raises(ValueError, match="zed.size"): rig_from_dict(bad)

def test_mismatched_resolution_is_refused():
    with pytest.raises(ValueError, match=r"160×120.*80×60"): check_size(np.zeros((120, 160, 3)), _rig()["phone"], "phone")
    check_size(np.zeros((60, 80, 3)), _rig()["phone"], "phone")

def test_capture_list_errors(tmp_path):
    with pytest.raises(FileNotFoundError): read_captures(tmp_path / "none.csv")
    (tmp_path / "c.csv").write_text("phone,dslr,zed\na.png,b.png,c.png\n")
    with pytest.raises(ValueError, match="zed_depth"): read_captures(tmp_path / "c.csv")
    (tmp_path / "c.csv").write_text("phone,dslr,zed,zed_depth\na.png,b.png,c.png,d.npy\n")
    assert read_captures(tmp_path / "c.csv")[0]["zed_depth"] == str((tmp_path / "d.npy").resolve())

def test_all_invalid_depth_is_refused():
    K = intrinsics(100, 100, 39.5, 29.5); img = np.full((60, 80, 3), 0.5, np.float32)
    for bad in (np.zeros((60, 80)), np.full((60, 80), np.nan), np.full((60, 80), -1.0)):
        with pytest.raises(ValueError, match="zed_depth: no valid depth"):
            align_view(img, bad, K, K, (60, 80), np.eye(3), np.zeros(3), img, K, np.eye(3), np.zeros(3))

def test_upsample_keeps_edges_sharp_and_k_consistent():
    d = np.full((10, 12), 4.0, np.float32); d[:, :6] = 1.0; d[0, 0] = 0
    img = np.zeros((10, 12, 3), np.float32)
    _, du, Ku = upsample_rgbd(img, d, intrinsics(20, 20, 5.5, 4.5), 2)
    assert set(np.unique(du[:, 10:14]).round(6)) <= {1.0, 4.0}            # no depth between the two surfaces
    assert (du[:2, :2] == 0).all()                                        # a hole stays a hole
    np.testing.assert_allclose(Ku[:2, 2], [(5.5 + 0.5) * 2 - 0.5, (4.5 + 0.5) * 2 - 0.5])

@pytest.fixture(scope="module")
def sim():
    rig = default_rig(0.5)
    return rig, simulate_capture(rig, seed=3)

def test_alignment_matches_the_simulator_truth(sim):
    rig, cap = sim
    ze, ph, ds = rig["zed"], rig["phone"], rig["dslr"]
    al = align_view(cap.zed.image, cap.zed.depth, ze.K, ph.K, ph.size, *zed_pose(rig, "phone"), cap.dslr.image, ds.K, *zed_pose(rig, "dslr"))
    v = al.valid & (cap.sharp.depth > 0)
    assert v.mean() > 0.85
    dep = np.abs(al.depth[v] - cap.sharp.depth[v]) / cap.sharp.depth[v]
    col = np.abs(al.image - cap.sharp.image).max(-1)[v]
    assert np.median(dep) < 0.005 and np.percentile(dep, 90) < 0.02
    assert np.median(col) < 0.02 and col.mean() < 0.05

def test_deblur_align_command(sim, tmp_path):
    rig, cap = sim
    csv_path = write_capture_files([cap, cap], tmp_path / "s")
    rows = csv_path.read_text().splitlines()
    import cv2
    cv2.imwrite(str(tmp_path / "s" / "big_phone.png"), np.zeros((480, 640, 3), np.uint8))    # wrong resolution
    np.save(tmp_path / "s" / "nodepth.npy", np.zeros((180, 320), np.float32))                # all-invalid depth
    f = rows[2].split(","); f[0] = "big_phone.png"; rows[2] = ",".join(f)
    f = rows[1].split(","); rows.append(",".join(["x_" + f[0]] + f[1:3] + ["nodepth.npy"] + f[4:]))
    import shutil; shutil.copy(tmp_path / "s" / f[0], tmp_path / "s" / ("x_" + f[0]))
    csv_path.write_text("\n".join(rows) + "\n")
    r = run("deblur_align", "--rig", str(tmp_path / "s" / "rig.json"), "--captures", str(csv_path), "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "o" / "align_report.json").read_text())
    assert rep["aligned"] == ["cap000_phone"] and [x["capture"] for x in rep["failed"]] == ["big_phone", "x_cap000_phone"]
    assert "640×480" in rep["failed"][0]["error"] and "no valid depth" in rep["failed"][1]["error"]
    assert np.load(tmp_path / "o" / "cap000_phone_depth.npy").shape == (240, 320)
    assert "skipped" in r.stderr
    r = run("deblur_align", "--rig", str(tmp_path / "s" / "rig.json"), "--phone", "missing.png", "--dslr", "a", "--zed", "b",
            "--zed_depth", "c", "--out", str(tmp_path / "o2"), cwd=tmp_path)
    assert r.returncode != 0 and "missing.png" in r.stderr and "Traceback" not in r.stderr
    r = run("deblur_align", "--captures", str(csv_path))
    assert r.returncode != 0 and "--rig" in r.stderr

def test_reads_deblur_calibrate_files(sim, tmp_path):
    from deblur_nbdev.calibration import Calibration, StereoCalibration, save_calibration
    rig, _ = sim
    cal = {n: Calibration(n, rig[n].K, rig[n].dist, rig[n].size, 0.1, {}) for n in RIG_CAMERAS}
    for other in ("phone", "dslr"):
        R, T = rig.relative("zed", other)
        save_calibration(tmp_path / f"zed_{other}.json", {"zed": cal["zed"], other: cal[other]}, [StereoCalibration("zed", other, R, T, 0.1, {})])
    r = read_rig(f"{tmp_path / 'zed_phone.json'},{tmp_path / 'zed_dslr.json'}")
    for n in ("phone", "dslr"):
        np.testing.assert_allclose(zed_pose(r, n)[0], rig.relative("zed", n)[0], atol=1e-12)
        np.testing.assert_allclose(zed_pose(r, n)[1], rig.relative("zed", n)[1], atol=1e-12)
    with pytest.raises(ValueError, match="dslr"): read_rig(tmp_path / "zed_phone.json")

def test_undistort_keeps_depth_values_and_k():
    from deblur_nbdev.alignment import undistort
    cam = Camera("zed", intrinsics(100, 100, 39.5, 29.5), (60, 80), [-0.2, 0.05, 0, 0, 0])
    v, u = np.mgrid[0:60, 0:80]
    d = np.where((u // 10 + v // 10) % 2 == 0, 1.5, 3.0).astype(np.float32)
    u = undistort(d, cam, nearest=True)
    assert set(np.unique(u)) <= {0.0, 1.5, 3.0} and (u != d).any()        # nearest: no mixed depths, but resampled
    assert undistort(d, Camera("zed", cam.K, (60, 80))) is d               # no distortion: untouched
