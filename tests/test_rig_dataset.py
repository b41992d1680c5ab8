"Real-dataset writer (12b_rig_dataset): samples in the 06_dataset format, bad input, and resume after SIGKILL."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pytest
from deblur_nbdev.rig_sim import default_rig, simulate_capture
from deblur_nbdev.rig_dataset import write_capture_files, rig_sample
from deblur_nbdev.dataset import iter_samples, verify_dataset, read_manifest
from deblur_nbdev.alignment import align_view

BIN = Path(sys.executable).parent

def cmd(*args):
    return [str(BIN / "deblur_rig_dataset"), *map(str, args)]

@pytest.fixture(scope="module")
def session(tmp_path_factory):
    rig = default_rig(0.5)
    caps = [simulate_capture(rig, seed=s, shift=0.04) for s in (0, 2)]
    d = tmp_path_factory.mktemp("session")
    csv_path = write_capture_files(caps, d)
    lines = csv_path.read_text().splitlines()                  # second capture → the test split
    lines[2] = lines[2].replace(",train", ",test")
    csv_path.write_text("\n".join(lines) + "\n")
    return rig, caps, d, csv_path

def test_writes_a_verified_masked_dataset(session, tmp_path):
    rig, caps, d, csv_path = session
    r = subprocess.run(cmd("--rig", d / "rig.json", "--captures", csv_path, "--out", tmp_path / "ds", "--quiet"),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert verify_dataset(tmp_path / "ds", read=True) == {"train": 1, "test": 1}
    assert not (tmp_path / "ds" / ".parts").exists()
    for s in iter_samples(tmp_path / "ds"):
        cap = caps[s.index]
        assert s.mask is not None and 0.7 < s.mask.mean() < 1
        t = s.mask.astype(bool) & (cap.sharp.depth > 0)
        kerr = np.abs(s.kernel - cap.kernel)[t].max(-1)                       # IMU-integrated kernel maps ≈ truth
        assert np.median(kerr) < 0.1 * np.abs(cap.kernel).max() and np.percentile(kerr, 95) < 0.1 * np.abs(cap.kernel).max()
        assert np.median(np.abs(s.sharp - cap.sharp.image)[t].max(-1)) < 0.03
        assert s.params["pose"] != "calibration" and len(s.times) == len(s.R)
    assert read_manifest(tmp_path / "ds")["generator"] == "deblur_rig_dataset"

def _files(folder):
    return {p.name: p.read_bytes() for p in Path(folder).iterdir() if p.is_file()}

def test_resume_after_sigkill_equals_an_uninterrupted_run(session, tmp_path):
    rig, caps, d, csv_path = session
    base = ["--rig", d / "rig.json", "--captures", csv_path, "--no_realign", "--quiet"]
    assert subprocess.run(cmd(*base, "--out", tmp_path / "full"), capture_output=True, timeout=600).returncode == 0
    p = subprocess.Popen(cmd(*base, "--out", tmp_path / "cut"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    part = tmp_path / "cut" / ".parts" / "000000.npz"
    t0 = time.time()
    while not part.exists() and p.poll() is None and time.time() - t0 < 300: time.sleep(0.05)
    killed = p.poll() is None
    if killed: os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert killed, "the run finished before it could be interrupted"
    assert not (tmp_path / "cut" / "manifest.json").exists()
    r = subprocess.run(cmd(*base, "--out", tmp_path / "cut"), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert _files(tmp_path / "cut") == _files(tmp_path / "full")

def test_bad_input(session, tmp_path):
    rig, caps, d, csv_path = session
    lines = csv_path.read_text().splitlines()
    noimu = tmp_path / "noimu.csv"
    noimu.write_text("phone,dslr,zed,zed_depth\n" + "\n".join(",".join(str(d / x) for x in l.split(",")[:4]) for l in lines[1:]) + "\n")
    r = subprocess.run(cmd("--rig", d / "rig.json", "--captures", noimu, "--out", tmp_path / "o"), capture_output=True, text=True, timeout=600)
    assert r.returncode != 0 and "imu, t_start and exposure" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(cmd("--captures", csv_path), capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "--rig" in r.stderr
    cap = caps[0]; ze, ph, ds = rig["zed"], rig["phone"], rig["dslr"]
    al = align_view(cap.zed.image, cap.zed.depth, ze.K, ph.K, ph.size, *rig.relative("zed", "phone"), cap.dslr.image, ds.K, *rig.relative("zed", "dslr"))
    with pytest.raises(ValueError, match="mask"):
        rig_sample(cap.blurry, al, np.zeros((10, 10), bool), ph.K, cap.poses, cap.exposure)
    with pytest.raises(ValueError, match="blurry"):
        rig_sample(cap.blurry[:100], al, np.zeros(ph.size, bool), ph.K, cap.poses, cap.exposure)

def test_imu_rotation_and_offset_give_the_same_kernel_maps(session, tmp_path):
    "An IMU mounted rotated and stamped on its own clock: with R_imu_cam / imu_time_offset the kernel maps equal the unrotated ones."
    from scipy.spatial.transform import Rotation
    from deblur_nbdev.realign import exposure_poses
    from deblur_nbdev.synthesis import kernel_maps
    rig, caps, d, csv_path = session
    cap = caps[0]; R_ic = Rotation.from_rotvec([-0.5, 0.3, 2.0]).as_matrix(); off = -1.25
    def write(name, t, g, a):
        np.savetxt(tmp_path / name, np.column_stack([t, g, a]), delimiter=",", header="t,gx,gy,gz,ax,ay,az", comments="", fmt="%.12g")
        return str(tmp_path / name)
    row = dict(imu=write("cam.csv", cap.imu.t, cap.imu.gyro, cap.imu.accel), t_start=repr(cap.t_start), exposure=repr(cap.exposure))
    rot = dict(row, imu=write("rot.csv", cap.imu.t - off, cap.imu.gyro @ R_ic, cap.imu.accel @ R_ic),
               R_imu_cam=" ".join(f"{x:.17g}" for x in R_ic.ravel()), imu_time_offset=repr(off))
    K, D = rig["phone"].K, cap.sharp.depth
    k0 = kernel_maps(D, K, exposure_poses(row), cap.exposure)
    k1 = kernel_maps(D, K, exposure_poses(rot), cap.exposure)
    np.testing.assert_allclose(k1, k0, atol=1e-4)
    k2 = kernel_maps(D, K, exposure_poses(dict(rot, R_imu_cam="")), cap.exposure)      # rotation ignored: different maps
    assert np.abs(k2 - k0).max() > 0.1
    with pytest.raises(ValueError, match="outside the IMU record"): exposure_poses(dict(rot, imu_time_offset=""))
