"Results stage: the `deblur_evaluate` and `deblur_image` commands in subprocesses (the constructed cases are in nbs/15*.ipynb)."
import json, os, subprocess, sys
from pathlib import Path
import numpy as np, pytest
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from deblur_nbdev.dataset import VARIANTS, iter_samples
from deblur_nbdev.generation import generate_dataset

BIN = Path(sys.executable).parent

def run(cmd, *args):
    return subprocess.run([str(BIN / cmd), *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""})

def assert_clean_error(r, *words):
    assert r.returncode != 0, r.stdout
    assert "Traceback" not in r.stderr, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    for w in words: assert w in last, last

# ---------------------------------------------------------------- commands

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from deblur_nbdev.unet import build_unet
    root = tmp_path_factory.mktemp("results")
    generate_dataset(root / "data", n=8, height=48, width=72, sources=("procedural", "motorcycle"), n_scenes=3,
                     test_scenes=("motorcycle",), test_fraction=0.5, n_poses=8, seed=4, progress=False)
    models = root / "models"
    for v in VARIANTS:
        (models / v).mkdir(parents=True)
        build_unet(v, depth=2, width=4).save(models / v / "model.keras")
    return root

def test_deblur_evaluate_command(tiny):
    m = tiny / "models"
    r = run("deblur_evaluate", "--data", tiny / "data", "--models", f"blind={m / 'blind' / 'model.keras'},kernel={m / 'kernel' / 'model.keras'}",
            "--out", tiny / "cli", "--max_samples", 3, "--examples", 1, "--n_resamples", 200)
    assert r.returncode == 0, r.stderr
    assert "| kernel |" in r.stdout and "kernel − blind" in r.stdout
    assert sorted(p.suffix for p in (tiny / "cli").iterdir()) == [".jpg", ".json", ".md"]
    assert json.loads((tiny / "cli" / "results.json").read_text())["params"]["n_samples"] == 3
    assert_clean_error(run("deblur_evaluate", "--data", tiny / "data", "--models", f"blind={tiny / 'missing.keras'}", "--out", tiny / "x"),
                       "missing.keras", "not found")
    assert_clean_error(run("deblur_evaluate", "--data", tiny / "nodata", "--models", m, "--out", tiny / "x"), "data")

def _write_inputs(tiny, h=45, w=70):
    import cv2
    s = next(iter_samples(tiny / "data", "test"))
    cv2.imwrite(str(tiny / "b.png"), cv2.cvtColor((s.blurry[:h, :w] * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    d = s.depth[:h, :w].copy(); d[:4, :4] = np.nan; np.save(tiny / "d.npy", d)
    cv2.imwrite(str(tiny / "d.png"), np.nan_to_num(d * 1000).astype(np.uint16))
    np.save(tiny / "k.npy", s.kernel[:h, :w]); np.save(tiny / "k3.npy", np.zeros((h, w, 3), np.float32))
    t = np.arange(0, 1, 0.005)
    (tiny / "imu.csv").write_text("t,gx,gy,gz,ax,ay,az\n" + "\n".join(f"{x:.3f},0.1,0.2,0.05,0,9.81,0" for x in t) + "\n")
    return h, w

def test_deblur_image_command(tiny):
    import cv2
    h, w = _write_inputs(tiny); m = tiny / "models"
    r = run("deblur_image", "--model", m / "depth+kernel" / "model.keras", "--image", tiny / "b.png", "--depth", tiny / "d.npy",
            "--kernel", tiny / "k.npy", "--out", tiny / "o1.png")
    assert r.returncode == 0, r.stderr
    assert cv2.imread(str(tiny / "o1.png")).shape == (h, w, 3)               # 45×70: padded to the U-Net's 4, cropped back
    r = run("deblur_image", "--model", m / "kernel" / "model.keras", "--image", tiny / "b.png", "--depth", tiny / "d.png",
            "--imu", tiny / "imu.csv", "--t_start", 0.4, "--exposure", 0.03, "--fx", 70, "--out", tiny / "o2.jpg")
    assert r.returncode == 0, r.stderr
    assert cv2.imread(str(tiny / "o2.jpg")).shape == (h, w, 3)

def test_deblur_image_bad_input(tiny):
    import cv2
    _write_inputs(tiny); m = tiny / "models"; b = tiny / "b.png"; o = tiny / "bad.png"
    assert_clean_error(run("deblur_image", "--model", tiny / "nope.keras", "--image", b, "--out", o), "model", "nope.keras")
    assert_clean_error(run("deblur_image", "--model", m / "depth+kernel" / "model.keras", "--image", b, "--out", o),
                       "model variant 'depth+kernel' needs --depth and kernel maps")
    assert_clean_error(run("deblur_image", "--model", m / "depth" / "model.keras", "--image", b, "--out", o),
                       "model variant 'depth' needs --depth")
    assert_clean_error(run("deblur_image", "--model", m / "kernel" / "model.keras", "--image", b, "--kernel", tiny / "k3.npy", "--out", o),
                       "kernel", "(45, 70, 2)")
    np.save(tiny / "d_small.npy", np.ones((10, 10), np.float32))
    assert_clean_error(run("deblur_image", "--model", m / "depth" / "model.keras", "--image", b, "--depth", tiny / "d_small.npy", "--out", o),
                       "depth", "70×45")
    cv2.imwrite(str(tiny / "d3.png"), np.ones((45, 70, 3), np.uint16))
    assert_clean_error(run("deblur_image", "--model", m / "depth" / "model.keras", "--image", b, "--depth", tiny / "d3.png", "--out", o),
                       "depth", "channels")
    assert_clean_error(run("deblur_image", "--model", m / "kernel" / "model.keras", "--image", b, "--imu", tiny / "imu.csv",
                           "--t_start", 0.4, "--exposure", 0.03, "--fx", 70, "--out", o), "--depth")
    assert not o.exists()

def test_deblur_image_deconvolves_known_motion(tiny):
    "No --model and known motion: deconvolution through the kernel paths, said in the closing line; bad kernels refused."
    import cv2
    h, w = _write_inputs(tiny); b = tiny / "b.png"
    r = run("deblur_image", "--image", b, "--kernel", tiny / "k.npy", "--out", tiny / "o3.png")
    assert r.returncode == 0, r.stderr
    assert "by deconvolution through the kernel maps of --kernel" in r.stdout, r.stdout
    assert cv2.imread(str(tiny / "o3.png")).shape == (h, w, 3)
    r = run("deblur_image", "--image", b, "--imu", tiny / "imu.csv", "--t_start", 0.4, "--exposure", 0.03, "--fx", 70,
            "--out", tiny / "o4.png")                                   # no --depth: rotation only, with a warning
    assert r.returncode == 0, r.stderr
    assert "rotation only" in r.stdout and "accelerometer" in r.stderr, (r.stdout, r.stderr)
    cal = tiny / "cam.json"
    cal.write_text(json.dumps(dict(width=140, height=90, fov_x_deg=60, R_imu_cam=np.eye(3).tolist(), time_offset=0.0,
                                   t_readout=0.0, exposure=0.03)))
    r = run("deblur_image", "--image", b, "--imu", tiny / "imu.csv", "--t_start", 0.4, "--calibration", cal,
            "--out", tiny / "o5.png")                                   # a calibration at twice the size: scaled
    assert r.returncode == 0, r.stderr
    np.save(tiny / "kbig.npy", np.full((h, w, 2), 1e6, np.float32))
    o = tiny / "bad.png"
    assert_clean_error(run("deblur_image", "--image", b, "--kernel", tiny / "kbig.npy", "--out", o), "--kernel", "longer than")
    cal.write_text("{")
    assert_clean_error(run("deblur_image", "--image", b, "--imu", tiny / "imu.csv", "--t_start", 0.4, "--calibration", cal,
                           "--out", o), "cam.json")
    assert_clean_error(run("deblur_image", "--image", b, "--imu", tiny / "imu.csv", "--t_start", 0.4, "--exposure", 0.03,
                           "--out", o), "--fx")
    assert not o.exists()
