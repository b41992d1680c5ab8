"""End to end from files: simulated session → `deblur_sync` (matches + capture list) → `deblur_rig_dataset` → verified dataset
whose samples agree with the simulator's ground truth.

The session simulator (`simulate_session`: clocks, frame stamps, photo stamps) and the capture simulator
(`simulate_capture`: images, IMU, truth) are linked here through their public API: for each session photo the frame the
true clocks make nearest (`sync._truth_match`) is the one written to the frame folders, and its true-time residual is the
capture's `shift` (exposure start − video instant = −residual; DSLR and ZED are fixed on the rig, so the DSLR frame's own
instant does not change its image). The phone IMU is written on the phone clock after a rotation into an IMU frame and a
time offset, which the command gets back through --imu_rotation / --imu_time_offset.
"""
import csv, json, subprocess, sys
from pathlib import Path
import numpy as np, pytest
from scipy.spatial.transform import Rotation
from deblur_nbdev.rig_sim import default_rig, simulate_session, simulate_capture
from deblur_nbdev.sync import write_session, _truth_match
from deblur_nbdev.dataset import iter_samples, verify_dataset
from deblur_nbdev.command import write_png
from deblur_nbdev.camera_motion import imu_poses
from deblur_nbdev.alignment import Aligned
from deblur_nbdev.masks import wrong_pixels, mask_quality

BIN = Path(sys.executable).parent
R_IC = Rotation.from_rotvec([0.2, -0.4, 1.0]).as_matrix()     # IMU frame → phone camera frame
OFFSET = 0.37                                                  # phone time = IMU time + OFFSET

def run(name, *args):
    r = subprocess.run([str(BIN / name), *map(str, args)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return r

@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    d = tmp_path_factory.mktemp("rig_session")
    rig = default_rig(0.5)
    (d / "rig.json").write_text(json.dumps(rig.to_dict()))
    ses = simulate_session(rig, duration=20.0, n_captures=2, seed=4)
    paths = write_session(ses, d)
    phone_ts = np.loadtxt(paths["phone"], skiprows=1)
    truth = {v: _truth_match(ses, v) for v in ("dslr", "zed")}
    for f in ("phone", "dslr", "zed", "depth", "imu"): (d / f).mkdir()
    caps = {}
    for i, t in enumerate(ses.captures):
        photo = int(np.argmin(np.abs(phone_ts - t)))
        c = simulate_capture(rig, seed=10 + i, shift=float(-truth["zed"].residual[i]))
        caps[photo] = c
        write_png(d / "phone" / f"IMG_{photo:04d}.png", c.blurry)
        write_png(d / "dslr" / f"dslr_{int(truth['dslr'].frame[i]):06d}.png", c.dslr.image)
        kz = int(truth["zed"].frame[i])
        write_png(d / "zed" / f"left_{kz:06d}.png", c.zed.image)
        np.save(d / "depth" / f"depth_{kz:06d}.npy", c.zed.depth)
        t_phone = c.imu.t - c.t_start + float(phone_ts[photo])              # exposure start = photo timestamp
        imu = np.column_stack([t_phone - OFFSET, c.imu.gyro @ R_IC, c.imu.accel @ R_IC])
        np.savetxt(d / "imu" / f"imu_{photo:04d}.csv", imu, delimiter=",", header="t,gx,gy,gz,ax,ay,az", comments="", fmt="%.12g")
    run("deblur_sync", "--phone", paths["phone"], "--videos", f"dslr={paths['dslr']}", f"zed={paths['zed']}",
        "--clocks", paths["clocks"], "--out", d / "matches", "--captures", d / "captures.csv",
        "--frames", f"phone={d / 'phone'}", f"dslr={d / 'dslr'}", f"zed={d / 'zed'}", f"zed_depth={d / 'depth'}",
        "--imu", d / "imu", "--exposure", caps[min(caps)].exposure,
        "--imu_rotation", *[f"{x:.17g}" for x in R_IC.ravel()], "--imu_time_offset", OFFSET, "--quiet")
    run("deblur_rig_dataset", "--rig", d / "rig.json", "--captures", d / "captures.csv", "--out", d / "ds", "--quiet")
    return d, caps

def test_capture_list_from_sync(pipeline):
    d, caps = pipeline
    rows = list(csv.DictReader(open(d / "captures.csv")))
    assert sorted(int(r["photo"]) for r in rows) == sorted(caps)
    for r in rows:
        assert r["flagged"] == "0" and (d / r["zed_depth"]).is_file() and (d / r["imu"]).is_file()
        np.testing.assert_allclose(np.array(r["R_imu_cam"].split(), float).reshape(3, 3), R_IC, atol=1e-15)

def test_dataset_matches_ground_truth(pipeline):
    d, caps = pipeline
    assert verify_dataset(d / "ds", read=True) == {"train": 2, "test": 0}
    n = 0
    for s in iter_samples(d / "ds"):
        c = caps[int(s.params["phone"].split("_")[1].split(".")[0])]
        assert s.mask is not None and 0.7 < s.mask.mean() < 1
        t = s.mask.astype(bool) & (c.sharp.depth > 0)
        assert np.median(np.abs(s.sharp - c.sharp.image)[t].max(-1)) < 0.03
        assert np.percentile(np.abs(s.depth - c.sharp.depth)[t] / c.sharp.depth[t], 90) < 0.02
        p = imu_poses(c.imu, c.t_start, c.exposure)              # the simulator's IMU in the camera frame and clock
        np.testing.assert_allclose(s.R, p.R, atol=1e-8); np.testing.assert_allclose(s.T, p.T, atol=1e-8)
        np.testing.assert_allclose(s.times, p.times, atol=1e-9)   # so rotation and offset came through the files exactly
        kmax = np.abs(c.kernel).max()
        kerr = np.abs(s.kernel - c.kernel)[t].max(-1)          # IMU-integrated kernel maps ≈ the synthesiser's truth
        print(f"{s.params['phone']}: trusted {s.mask.mean():.3f}, kernel err median {np.median(kerr):.3f} p95 "
              f"{np.percentile(kerr, 95):.3f} px (max |k| {kmax:.2f}), sharp err median {np.median(np.abs(s.sharp - c.sharp.image)[t].max(-1)):.4f}, "
              f"depth rel err p90 {np.percentile(np.abs(s.depth - c.sharp.depth)[t] / c.sharp.depth[t], 90):.4f}")
        assert np.median(kerr) < 0.1 * kmax and np.percentile(kerr, 95) < 0.3 * kmax   # the IMU integration error itself (the pass-through is exact, above)
        assert s.params["pose"] != "calibration"
        al = Aligned(s.sharp, s.depth, None, None, None, None, s.depth > 0, 1)    # the sample as an alignment, for `wrong_pixels`
        q = mask_quality(~s.mask.astype(bool), wrong_pixels(al, c.sharp.image, c.sharp.depth))   # 12_masks' truth criterion
        print(f"  mask vs truth: {q}")
        assert q["recall"] >= 0.95 and q["area_ratio"] < 2, q
        n += 1
    assert n == 2

def test_missing_frames_are_a_clear_error(pipeline, tmp_path):
    d, caps = pipeline
    import shutil
    shutil.copytree(d / "depth", tmp_path / "depth"); next((tmp_path / "depth").iterdir()).unlink()
    base = [str(BIN / "deblur_sync"), "--phone", d / "phone.csv", "--videos", f"dslr={d / 'dslr.csv'}", f"zed={d / 'zed.csv'}",
            "--clocks", d / "clocks.csv", "--out", tmp_path / "m", "--captures", tmp_path / "c.csv"]
    frames = ["--frames", f"phone={d / 'phone'}", f"dslr={d / 'dslr'}", f"zed={d / 'zed'}"]
    for extra, msg in ((frames + [f"zed_depth={tmp_path / 'depth'}"], "zed_depth: frame(s)"),
                       (frames, "no frame source for ['zed_depth']"),
                       (frames + [f"zed_depth={tmp_path / 'nothing'}"], "no such frame folder or video"),
                       ([], "--captures and --frames go together")):
        r = subprocess.run(list(map(str, base + extra)), capture_output=True, text=True, timeout=120)
        assert r.returncode != 0 and msg in r.stderr and "Traceback" not in r.stderr, (msg, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "c.csv").exists()
