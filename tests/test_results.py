"Results stage: metrics, the known-kernel baseline against synthesis, bootstrap intervals, evaluate/report, and the commands in subprocesses."
import json, math, os, subprocess, sys
from pathlib import Path
import numpy as np, pytest
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from scipy.signal import fftconvolve
from deblur_nbdev.blur_model import line_kernel
from deblur_nbdev.metrics import psnr, ssim, bootstrap_ci
from deblur_nbdev.baseline import deconvolve
from deblur_nbdev.results import evaluate, write_report, read_report, parse_models, scene_group
from deblur_nbdev.camera_motion import Poses
from deblur_nbdev.scenes import procedural_scene
from deblur_nbdev.synthesis import synthesize, add_noise
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

# ---------------------------------------------------------------- metrics

# ---------------------------------------------------------------- baseline

# ---------------------------------------------------------------- bootstrap

def test_scene_group():
    assert scene_group("procedural:3") == "synthetic" and scene_group("motorcycle") == "motorcycle"

# ---------------------------------------------------------------- evaluate, report, commands

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

def test_evaluate_rows_summary_and_report(tiny):
    models = {v: tiny / "models" / v / "model.keras" for v in VARIANTS}
    r = evaluate(models, tiny / "data", progress=False, n_resamples=300, examples=2)
    test = list(iter_samples(tiny / "data", "test"))
    methods = ["blurry", "baseline", *VARIANTS]
    assert r["methods"] == methods and len(r["rows"]) == len(test) * len(methods)
    assert {(x["index"], x["method"]) for x in r["rows"]} == {(s.index, m) for s in test for m in methods}
    assert set(r["groups"]) == {"all", "synthetic", "motorcycle"}
    for g in r["groups"]:
        for m, c in r["summary"][g].items(): assert c["psnr"]["lo"] <= c["psnr"]["mean"] <= c["psnr"]["hi"]
    assert {"depth − blind", "kernel − blind", "depth+kernel − blind", "blind − blurry", "baseline − blurry"} <= set(r["paired"]["all"])
    bl = r["params"]["baseline"]                                  # format-2 data: the path baseline on every image
    assert bl["method"] == "richardson-lucy on kernel paths" and bl["paths"] == len(test) and bl["wiener"] == 0
    d = r["paired"]["all"]["depth − blind"]
    by = {(x["index"], x["method"]): x["psnr"] for x in r["rows"]}
    assert d["psnr"]["mean"] == pytest.approx(np.mean([by[s.index, "depth"] - by[s.index, "blind"] for s in test]), abs=1e-9)
    out = write_report(r, tiny / "report")
    md = Path(out["markdown"]).read_text(); js = json.loads(Path(out["json"]).read_text())
    assert "| method | PSNR (dB) mean [95 % CI] | SSIM mean [95 % CI] | n |" in md and "| depth+kernel |" in md
    assert "## Scene: motorcycle" in md and "depth − blind" in md and "thesis' ordering" in md
    assert js["methods"] == methods and len(js["rows"]) == len(r["rows"]) and "examples" not in js
    assert len(out["figures"]) == 2 and all(Path(f).stat().st_size > 1000 for f in out["figures"])
    assert read_report(tiny / "report")["summary"]["all"]["blurry"]["n"] == len(test)

def test_parse_models(tiny):
    got = parse_models(tiny / "models")
    assert set(got) == set(VARIANTS) and got["depth+kernel"].endswith("depth+kernel/model.keras")
    with pytest.raises(ValueError, match="variant"): parse_models("rgbd=x.keras")
    with pytest.raises(FileNotFoundError, match="nope.keras"): parse_models("blind=nope.keras")
    with pytest.raises(FileNotFoundError, match="nope.keras"): parse_models("path=nope.keras")   # every variant, path too
    with pytest.raises(ValueError, match="'depth' model"): evaluate({"blind": tiny / "models" / "depth" / "model.keras"}, tiny / "data", progress=False)

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

def test_evaluate_uses_the_mask(tmp_path):
    from deblur_nbdev.dataset import Sample, write_dataset
    from deblur_nbdev.blur_model import default_K
    from deblur_nbdev.unet import build_unet
    g = np.random.default_rng(7); samples = []
    for i in range(3):
        sharp = g.random((32, 40, 3)).astype(np.float32); blurry = np.clip(sharp + g.normal(0, 0.05, sharp.shape), 0, 1).astype(np.float32)
        mask = np.ones((32, 40), np.uint8); mask[:, 20:] = 0; blurry[:, 20:] = 0          # garbage where untrusted
        samples.append(Sample(blurry, sharp, np.full((32, 40), 2.0), np.zeros((32, 40, 2)), default_K(40, 32), np.eye(3)[None],
                              np.zeros((1, 3)), [0.0], index=i, scene="rig:0", split="test", mask=mask))
    write_dataset(tmp_path / "rig", samples, image_dtype="float32")
    r = evaluate({"blind": build_unet("blind", depth=2, width=4)}, tmp_path / "rig", progress=False, n_resamples=100)
    assert r["groups"] == ["all", "rig:0"] and len(r["rows"]) == 9
    for row in (x for x in r["rows"] if x["method"] == "blurry"):
        s = samples[row["index"]]
        assert row["psnr"] == pytest.approx(psnr(s.blurry, s.sharp, s.mask), abs=1e-6) and row["psnr"] > psnr(s.blurry, s.sharp) + 5
    assert "## Scene" not in Path(write_report(r, tmp_path / "rep", figures=False)["markdown"]).read_text()

def test_evaluate_leaves_out_unblurred_images(tmp_path):
    "A test image identical to its sharp image (no blur) would give PSNR = inf: it is listed, not averaged."
    from deblur_nbdev.dataset import Sample, write_dataset
    from deblur_nbdev.blur_model import default_K
    from deblur_nbdev.unet import build_unet
    g = np.random.default_rng(3); samples = []
    for i in range(3):
        sharp = g.random((32, 40, 3)).astype(np.float32)
        blurry = sharp.copy() if i == 1 else np.clip(sharp + g.normal(0, 0.05, sharp.shape), 0, 1).astype(np.float32)
        samples.append(Sample(blurry, sharp, np.full((32, 40), 2.0), np.zeros((32, 40, 2)), default_K(40, 32), np.eye(3)[None],
                              np.zeros((1, 3)), [0.0], index=i, scene="procedural:0", split="test"))
    write_dataset(tmp_path / "d", samples, image_dtype="float32")
    r = evaluate({"blind": build_unet("blind", depth=2, width=4)}, tmp_path / "d", progress=False, n_resamples=100)
    assert r["params"]["unblurred"] == [1] and {x["index"] for x in r["rows"]} == {0, 2}
    assert all(np.isfinite(c["psnr"]["mean"]) for c in r["summary"]["all"].values())
    assert "Left out: 1 test image" in Path(write_report(r, tmp_path / "rep", figures=False)["markdown"]).read_text()
    write_dataset(tmp_path / "none", [samples[1]], image_dtype="float32")
    with pytest.raises(ValueError, match="blurry input equals"): evaluate({"blind": build_unet("blind", depth=2, width=4)}, tmp_path / "none", progress=False)
