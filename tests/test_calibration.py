"`deblur_calibrate` in a subprocess against the rig simulator's true cameras. The constructed cases are cells of nbs/09_calibration.ipynb."
import json, subprocess, sys
from pathlib import Path
import numpy as np, pytest, cv2
from scipy.spatial.transform import Rotation
from deblur_nbdev.rig_sim import default_rig, checkerboard_views
from deblur_nbdev.calibration import load_calibration, rig_from_calibrations

BIN = Path(sys.executable).parent
def run(*args): return subprocess.run([str(BIN / "deblur_calibrate"), *map(str, args)], capture_output=True, text=True, timeout=300)

RIG = default_rig(0.5, dist=True)

def write(folder, images, stem):
    folder.mkdir(parents=True, exist_ok=True)
    for i, im in enumerate(images): cv2.imwrite(str(folder / f"{stem}_{i:02d}.png"), (im[..., ::-1] * 255 + 0.5).astype(np.uint8))

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("calib")
    for cam in ("phone", "zed"):
        write(d / cam, checkerboard_views(RIG, n=10, seed=21, cameras=(cam,), noise=0.01).images[cam], cam)
    pair = checkerboard_views(RIG, n=8, seed=22, cameras=("phone", "zed"), noise=0.01)
    write(d / "pair", pair.images["phone"], "phone"); write(d / "pair", pair.images["zed"], "zed")
    return d

def check(c, cam):
    K, Kt = np.array(c["K"]) if isinstance(c, dict) else c.K, cam.K
    assert abs(K[0, 0] / Kt[0, 0] - 1) < 0.01 and abs(K[1, 1] / Kt[1, 1] - 1) < 0.01
    assert abs(K[0, 2] - Kt[0, 2]) < 2 and abs(K[1, 2] - Kt[1, 2]) < 2

def test_cli_mono_meets_the_limits(data):
    r = run("--images", data / "phone" / "*.png", "--pattern", "9x6", "--square", "0.025", "--name", "phone", "--out", data / "phone.json")
    assert r.returncode == 0, r.stderr
    for key in ("fx=", "fy=", "cx=", "cy=", "distortion", "RMS"): assert key in r.stdout
    c = json.loads((data / "phone.json").read_text())["cameras"]["phone"]
    check(c, RIG["phone"]); assert c["rms"] < 0.5 and c["size"] == [240, 320]

def test_cli_stereo_with_fixed_intrinsics(data):
    for cam in ("phone", "zed"):
        assert run("--images", data / cam / "*.png", "--name", cam, "--out", data / f"{cam}.json", "--quiet").returncode == 0
    r = run("--images", data / "pair" / "phone_*.png", "--images2", data / "pair" / "zed_*.png", "--name", "phone", "--name2", "zed",
            "--calib1", data / "phone.json", "--calib2", data / "zed.json", "--out", data / "pz.json")
    assert r.returncode == 0, r.stderr
    assert "stereo phone → zed" in r.stdout
    cams, st = load_calibration(data / "pz.json")
    R, T = RIG.relative("phone", "zed")
    # rotation error in pixels at the ZED's focal length: within the 2 px allowed for the principal points it rests on
    assert Rotation.from_matrix(st[0].R @ R.T).magnitude() * RIG["zed"].K[0, 0] < 2 and np.linalg.norm(st[0].T - T) < 5e-3
    assert st[0].rms < 0.5
    # the intrinsics were fixed: the pair file repeats the per-camera calibrations
    np.testing.assert_allclose(cams["zed"].K, load_calibration(data / "zed.json")[0]["zed"].K)
    rig = rig_from_calibrations(cams, st, reference="zed")
    assert np.linalg.norm(rig.centre("phone") - RIG.centre("phone")) < 5e-3

def test_cli_bad_input_one_line(data, tmp_path):
    r = run("--images", tmp_path / "*.png")
    assert r.returncode != 0 and r.stderr.strip().splitlines() == [f"deblur_calibrate: error: --images: no files match {str(tmp_path / '*.png')!r}"]
    for i in range(3): cv2.imwrite(str(tmp_path / f"blank_{i}.png"), np.full((100, 120), 128, np.uint8))
    r = run("--images", tmp_path / "*.png")
    assert r.returncode != 0 and "found in only 0 of 3 images, need 5; no board in:" in r.stderr and "blank_0.png" in r.stderr
    r = run("--images", data / "phone" / "*.png", "--pattern", "9*6")
    assert r.returncode != 0 and "--pattern" in r.stderr
    # a calibration of the wrong resolution for the stereo images
    r = run("--images", data / "pair" / "phone_*.png", "--images2", data / "pair" / "zed_*.png", "--name", "phone", "--name2", "zed",
            "--calib1", data / "zed.json", "--calib2", data / "zed.json", "--out", tmp_path / "x.json")
    assert r.returncode != 0 and "does not match the calibration" in r.stderr
