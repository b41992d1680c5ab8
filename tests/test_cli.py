"The `deblur_synth` command, run as a user would: in a subprocess."
import json, subprocess, sys, os
from pathlib import Path
import numpy as np, pytest

BIN = Path(sys.executable).parent

def run(*args, cwd=None):
    return subprocess.run([str(BIN / "deblur_synth"), *args], capture_output=True, text=True, cwd=cwd, timeout=600)

def test_help_documents_every_option():
    r = run("--help")
    assert r.returncode == 0
    for opt in ("--scene", "--rgb", "--depth", "--exposure", "--imu", "--seed", "--t_readout", "--out"): assert opt in r.stdout

def test_bundled_scene_writes_everything_and_is_reproducible(tmp_path):
    for d in ("a", "b"):
        r = run("--scene", "procedural:2", "--exposure", "0.03", "--seed", "5", "--photons", "800", "--out", str(tmp_path / d))
        assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["procedural_2"]          # one folder per scene
    names = sorted(p.name for p in (tmp_path / "a" / "procedural_2").iterdir())
    assert names == ["blurry.png", "kernel.npy", "meta.json", "path.npy", "preview.png", "sharp.png"]
    for n in names: assert (tmp_path / "a" / "procedural_2" / n).read_bytes() == (tmp_path / "b" / "procedural_2" / n).read_bytes(), n
    assert r.stdout.strip().splitlines()[-1] == f"deblur_synth: wrote 1 scene folder (procedural_2) to {tmp_path / 'b'}/"
    meta = json.loads((tmp_path / "a" / "procedural_2" / "meta.json").read_text())
    assert len(meta["times"]) == meta["n_poses"] >= 5 and np.array(meta["K"]).shape == (3, 3)   # sampled by the blur
    assert np.load(tmp_path / "a" / "procedural_2" / "kernel.npy").shape == (240, 320, 2)
    assert np.load(tmp_path / "a" / "procedural_2" / "path.npy").shape == (240, 320, 5, 2)

def test_user_rgbd_pair_with_deepgyro_imu(tmp_path):
    import cv2
    g = np.random.default_rng(0)
    cv2.imwrite(str(tmp_path / "rgb.png"), (g.random((60, 80, 3)) * 255).astype(np.uint8))
    cv2.imwrite(str(tmp_path / "depth.png"), np.full((60, 80), 2000, np.uint16))       # 2 m in millimetres
    imu = tmp_path / "rec"; imu.mkdir()
    t = np.arange(0, 1.0, 0.005); ns = (t * 1e9).astype(np.int64)
    lines = [f"4 {n} 0.1 0.2 0.05" for n in ns] + [f"1 {n} 0.0 9.81 0.0" for n in ns]
    (imu / "imu.txt").write_text("\n".join(lines) + "\n")
    (imu / "images.txt").write_text(f"{int(0.4e9)} {int(0.03e9)}\n")
    r = run("--rgb", str(tmp_path / "rgb.png"), "--depth", str(tmp_path / "depth.png"), "--imu", str(imu),
            "--exposure", "0.03", "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "out" / "rgb" / "meta.json").read_text())
    assert abs(meta["imu_t_start"] - 0.4) < 1e-9 and meta["kernel_max_px"] > 0.5

@pytest.mark.parametrize("args,msg", [
    (["--scene", "atlantis"], "atlantis"),
    (["--rgb", "missing.png", "--depth", "missing.npy"], "missing.png"),
    (["--scene", "procedural:0", "--exposure", "0"], "exposure"),
    (["--scene", "procedural:0", "--exposure", "0.01", "--sf", "0.02"], "sf"),
])
def test_bad_input_fails_with_a_clear_message(tmp_path, args, msg):
    r = run(*args, "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert r.returncode != 0 and msg in r.stderr, r.stderr[-2000:]


def _deepgyro(folder, images="400000000 20000000\n900000000 40000000\n", accel=True):
    (folder / "imu").mkdir(parents=True)
    (folder / "images").mkdir()
    ns = (np.arange(0, 1.0, 0.005) * 1e9).astype(np.int64)
    rows = [f"4 {n} 0.1 0.2 0.05" for n in ns] + ([f"1 {n} 0.5 9.81 0.0" for n in ns] if accel else [])
    (folder / "imu" / "imu.txt").write_text("\n".join(rows) + "\n")
    (folder / "images" / "images.txt").write_text(images)
    return folder


def _pair(tmp_path):
    import cv2
    cv2.imwrite(str(tmp_path / "rgb.png"), (np.random.default_rng(0).random((60, 80, 3)) * 255).astype(np.uint8))
    np.save(tmp_path / "depth.npy", np.full((60, 80), 2.0, np.float32))
    return ["--rgb", str(tmp_path / "rgb.png"), "--depth", str(tmp_path / "depth.npy")]


def test_deepgyro_exposure_from_images_txt_and_gyro_only(tmp_path):
    imu, pair = _deepgyro(tmp_path / "rec"), _pair(tmp_path)
    r = run(*pair, "--imu", str(imu), "--gyro_only", "--out", str(tmp_path / "a"))
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "a" / "rgb" / "meta.json").read_text())
    assert meta["exposure"] == 0.02 and abs(meta["imu_t_start"] - 0.4) < 1e-12 and meta["gyro_only"]
    assert np.abs(meta["T"]).max() == 0 and meta["kernel_max_px"] > 0.1
    r = run(*pair, "--imu", str(imu), "--t_start", "0.9", "--out", str(tmp_path / "b"))
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "b" / "rgb" / "meta.json").read_text())
    assert meta["exposure"] == 0.04 and np.abs(meta["T"]).max() > 0             # the accelerometer is used
    r = run(*pair, "--imu", str(imu), "--exposure", "0.01", "--out", str(tmp_path / "c"))
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "c" / "rgb" / "meta.json").read_text())["exposure"] == 0.01   # explicit wins
    r = run(*pair, "--imu", str(imu), "--t_start", "0.5", "--out", str(tmp_path / "d"))
    assert r.returncode != 0 and "--t_start: 0.5 s is no image start" in r.stderr, r.stderr[-2000:]


@pytest.mark.parametrize("images,msg", [("400000000 -20000000\n", "images.txt: data row 1 has exposure -20000000 ns"),
                                        ("400000000 0\n", "images.txt: data row 1 has exposure 0 ns")])
def test_deepgyro_non_positive_exposure_is_refused(tmp_path, images, msg):
    imu = _deepgyro(tmp_path / "rec", images)
    r = run(*_pair(tmp_path), "--imu", str(imu), "--out", str(tmp_path / "o"))
    assert r.returncode != 0 and msg in r.stderr, r.stderr[-2000:]


def test_short_imu_window_names_t_readout(tmp_path):
    imu = _deepgyro(tmp_path / "rec")
    r = run(*_pair(tmp_path), "--imu", str(imu), "--t_start", "0.9", "--t_readout", "0.08",
            "--out", str(tmp_path / "o"))
    assert r.returncode != 0, r.stderr
    assert "exposure + t_readout = 0.12 s: exposure 0.04 s, t_readout 0.08 s" in r.stderr, r.stderr[-2000:]
    assert "lies outside the IMU record" in r.stderr


def test_depth_scale_applies_to_npy(tmp_path):
    import cv2
    cv2.imwrite(str(tmp_path / "rgb.png"), (np.random.default_rng(1).random((60, 80, 3)) * 255).astype(np.uint8))
    np.save(tmp_path / "m.npy", np.full((60, 80), 2.0, np.float32))
    np.save(tmp_path / "mm.npy", np.full((60, 80), 2000, np.uint16))
    k = {}
    for name, extra in (("m", []), ("mm", ["--depth_scale", "0.001"])):
        r = run("--rgb", str(tmp_path / "rgb.png"), "--depth", str(tmp_path / f"{name}.npy"), *extra,
                "--exposure", "0.03", "--translation", "5", "--seed", "3", "--out", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
        k[name] = np.load(tmp_path / name / "rgb" / "kernel.npy")
    np.testing.assert_allclose(k["mm"], k["m"], atol=1e-4)                      # 2000 mm × 0.001 = the same 2 m
