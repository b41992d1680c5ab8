"Real-dataset writer (12b_rig_dataset), run in subprocesses: samples in the 06_dataset format, bad input, and resume after SIGKILL (the constructed cases are in the notebooks)."
import os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pytest
from deblur_nbdev.rig_sim import default_rig, simulate_capture
from deblur_nbdev.rig_dataset import write_capture_files
from deblur_nbdev.dataset import iter_samples, verify_dataset, read_manifest

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
