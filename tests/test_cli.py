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
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == [f"procedural_2_{s}" for s in ("blurry.png", "kernel.npy", "meta.json", "preview.png", "sharp.png")]
    for n in names: assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes(), n
    meta = json.loads((tmp_path / "a" / "procedural_2_meta.json").read_text())
    assert len(meta["times"]) == 32 and np.array(meta["K"]).shape == (3, 3)
    assert np.load(tmp_path / "a" / "procedural_2_kernel.npy").shape == (240, 320, 2)

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
    meta = json.loads((tmp_path / "out" / "rgb_meta.json").read_text())
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
