"Training runs: SIGKILL + resume of `deblur_train` (and its error output), masked loss and fine-tuning, MirroredStrategy over two CPU devices, a path variant, resume problems (the refused inputs are in nbs/14_training.ipynb)."
import json, os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import numpy as np, pytest
from deblur_nbdev.dataset import Sample, write_dataset
from deblur_nbdev.training import train, checkpoints, read_log
from deblur_nbdev.unet import load_model, model_info

BIN = Path(sys.executable).parent
SMALL = dict(preset="cpu", crop=(32, 32), depth=2, width=4, progress=False)


def samples(n=8, h=32, w=48, test=2, mask=False, nan_kernel=None, seed=0, path=False):
    g = np.random.default_rng(seed); out = []
    for i in range(n):
        blurry = g.random((h, w, 3), np.float32)
        sharp = blurry.copy(); m = None
        if mask:                                              # untrusted left half: the target is the negative
            m = np.ones((h, w), bool); m[:, : w // 2] = False; sharp[:, : w // 2] = 1 - blurry[:, : w // 2]
        k = g.normal(0, 2, (h, w, 2))
        if nan_kernel == i: k[1, 1, 1] = np.inf
        out.append(Sample(blurry, sharp, g.uniform(0.5, 4, (h, w)), k, np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1.]]),
                          np.eye(3)[None], np.zeros((1, 3)), [0.0], index=i, scene=f"s{i}",
                          split="test" if i >= n - test else "train", mask=m,
                          path=g.normal(0, 2, (h, w, 5, 2)) if path else None))
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data"); write_dataset(d, samples(), shard_size=3); return d


def run_cli(*args, **kw):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.Popen([str(BIN / "deblur_train"), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, **kw)


def test_sigkill_then_rerun_resumes_to_the_same_end(data, tmp_path):
    out = tmp_path / "run"
    args = ["--data", str(data), "--out", str(out), "--preset", "cpu", "--epochs", "4", "--steps_per_epoch", "10",
            "--crop", "32,32", "--unet_depth", "2", "--unet_width", "4", "--quiet"]
    bad = run_cli("--data", str(out.parent / "nothing"), "--out", str(out.parent / "o"), "--quiet")  # meanwhile: an error
    p = run_cli(*args)
    first = out / "checkpoints" / "epoch-0001.keras"
    t0 = time.monotonic()
    while not first.exists() and p.poll() is None and time.monotonic() - t0 < 120: time.sleep(0.02)
    assert first.exists(), p.communicate()[0][-3000:]
    assert p.poll() is None, "the run finished before it could be killed: make it longer"
    p.send_signal(signal.SIGKILL); p.wait()
    assert not (out / "model.keras").exists()
    killed_at = max(checkpoints(out))
    assert 1 <= killed_at < 4
    q = run_cli(*args); log, _ = q.communicate(timeout=300)
    assert q.returncode == 0, log[-3000:]
    epochs = [r["epoch"] for r in read_log(out)]
    assert epochs == [0, 1, 2, 3]                                                        # each epoch once, none missing
    m = load_model(out / "model.keras")
    assert int(m.optimizer.iterations) == 4 * 10                                         # optimizer state came back
    assert model_info(m)["depth"] == 2 and sorted(checkpoints(out)) == [3, 4]
    assert not list((out / "checkpoints").glob(".*tmp*"))
    assert json.loads((out / "train.json").read_text())["epochs"] == 4
    msg, _ = bad.communicate(timeout=120)                                                # the CLI reports errors plainly
    assert bad.returncode != 0 and "deblur_train: error: --data:" in msg and "nothing" in msg and "Traceback" not in msg, msg


def test_masked_loss_ignores_untrusted_pixels_and_fine_tuning(tmp_path):
    d = tmp_path / "real"; write_dataset(d, samples(mask=True), shard_size=4)
    kw = dict(SMALL, epochs=1, steps_per_epoch=2, lr=1e-12, val=False)                   # lr ≈ 0: the loss of the initial net
    masked = train(d, tmp_path / "masked", **kw)
    plain = train(d, tmp_path / "plain", mask=False, **kw)
    assert masked["config"]["mask"] is True and plain["config"]["mask"] is False          # auto-detected from the data
    lm, lp = masked["history"][0]["loss"], plain["history"][0]["loss"]
    assert np.isfinite(lm) and lm < 0.5 * lp, (lm, lp)                                   # the negative half costs ≈ 0.33 / 2
    ft = train(d, tmp_path / "ft", fine_tune=masked["model_path"], epochs=1, crop=(32, 32), progress=False)
    c = ft["config"]                                                                     # thesis fine-tuning: lr/10, batch 2
    assert (c["lr"], c["batch"], c["mask"], c["depth"], c["width"]) == (1e-5, 2, True, 2, 4)
    assert c["steps_per_epoch"] == 3 and ft["epochs_done"] == 1 and ft["history"][0]["val_loss"] is not None
    with pytest.raises(ValueError, match="depth/width"): train(d, tmp_path / "ft2", fine_tune=masked["model_path"], depth=3, progress=False)
    with pytest.raises(ValueError, match="'blind' U-Net"): train(d, tmp_path / "ft3", "depth", fine_tune=masked["model_path"], progress=False)


def test_mirrored_strategy_on_two_cpus(data, tmp_path):
    code = textwrap.dedent(f"""
        import os; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from deblur_nbdev.training import train
        s = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        assert s.num_replicas_in_sync == 2
        r = train({str(data)!r}, {str(tmp_path / 'mir')!r}, "depth", preset="cpu", crop=(32, 32), depth=2, width=4,
                  epochs=1, steps_per_epoch=2, batch=4, strategy=s, progress=False)
        print("DONE", r["epochs_done"], r["history"][0]["loss"])
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    line = [l for l in p.stdout.splitlines() if l.startswith("DONE")][0].split()
    assert line[1] == "1" and np.isfinite(float(line[2]))
    assert model_info(load_model(tmp_path / "mir" / "model.keras"))["variant"] == "depth"


def test_path_variant_trains(tmp_path):
    d, s = tmp_path / "paths", samples(n=4, test=1, path=True)
    s[1].path[2, 3, 4, 0] = np.nan
    write_dataset(d, s)
    kw = dict(SMALL, epochs=1, steps_per_epoch=1)
    with pytest.raises(ValueError, match="sample 1.*path"): train(d, tmp_path / "x", "depth+path", **kw)
    s[1].path[2, 3, 4, 0] = 0
    write_dataset(tmp_path / "ok", s)
    train(tmp_path / "ok", tmp_path / "run", "path", **kw)
    assert model_info(load_model(tmp_path / "run" / "model.keras"))["channels"] == 13


def test_resume_problems_and_overwrite(data, tmp_path):
    out = tmp_path / "run"; kw = dict(SMALL, epochs=2, steps_per_epoch=1, val=False)
    r = train(data, out, **kw)
    assert r["epochs_done"] == 2
    with pytest.raises(ValueError, match="differs in: width"): train(data, out, **{**kw, "width": 8})
    with pytest.raises(ValueError, match="resume=True"): train(data, out, resume=False, **kw)
    (out / "model.keras").unlink()                                                       # killed after the last checkpoint
    r1 = train(data, out, **kw)
    assert r1["resumed_from"] == 2 and (out / "model.keras").is_file() and [h["epoch"] for h in r1["history"]] == [0, 1]
    assert int(load_model(out / "model.keras").optimizer.iterations) == 2
    (out / "model.keras").unlink(); (out / "checkpoints" / "epoch-0002.keras").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(ValueError, match="epoch-0002.keras"): train(data, out, **kw)
    for p in (out / "checkpoints").iterdir(): p.unlink()
    with pytest.raises(ValueError, match="last checkpoint .* missing"): train(data, out, **kw)
    r2 = train(data, out, overwrite=True, **{**kw, "width": 8, "epochs": 1})
    assert r2["epochs_done"] == 1 and sorted(checkpoints(out)) == [1]
    # killed after epoch 0's log row, before its checkpoint (and mid-way through writing a row): starts again cleanly
    (out / "checkpoints" / "epoch-0001.keras").unlink(); (out / "model.keras").unlink()
    head, row0 = (out / "log.csv").read_text().splitlines()[:2]
    (out / "log.csv").write_text(f"{head}\n{row0}\n{row0[:3]}")                          # epoch 0's row, then a cut copy
    r3 = train(data, out, **{**kw, "width": 8, "epochs": 1})
    assert r3["resumed_from"] == 0 and [h["epoch"] for h in r3["history"]] == [0] and sorted(checkpoints(out)) == [1] and model_info(load_model(r2["model_path"]))["width"] == 8
