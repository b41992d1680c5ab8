"""SIGKILL each writing command (deblur_synth, deblur_image, deblur_evaluate) at seeded random moments while it
replaces an earlier result, and check that its output always holds either the old complete result or the new
complete one — never a truncated file, never a mix of the two (issue 14). Small sizes, a few kills each."""
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pytest

BIN = Path(sys.executable).parent


def visible(folder):
    "{relative path: bytes} of every file under `folder`, hidden temporaries (`.NAME.tmp-PID`) left out."
    folder = Path(folder)
    if not folder.exists(): return None
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def timed(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return time.perf_counter() - t


def kill_at(cmd, t):
    "Start `cmd`, SIGKILL it after `t` seconds (or let it finish first); return whether it was killed."
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        p.wait(timeout=t)
        return False
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
        return True


def kill_before_end(cmd, t, restore, tries=5):
    """Like `kill_at`, but a run that ends before `t` (a shared machine runs faster or slower than the timed run)
    is undone by `restore()` and tried again at 3/4 of the time, so that every moment really interrupts a run.
    Return the moment of the kill."""
    for _ in range(tries):
        if kill_at(cmd, t): return t
        restore()
        t *= 0.75
    raise AssertionError(f"{cmd[0]} always ended before it could be killed (last try at {t / 0.75:.2f} s)")


def kill_times(duration, k, seed):
    "`k` seeded moments spread over the run, most of them late (where the writing happens)."
    g = np.random.default_rng(seed)
    return sorted(np.r_[g.uniform(0.2, 0.8, 1), g.uniform(0.8, 1.02, k - 1)] * duration)


def test_synth_killed_leaves_old_or_new_sets(tmp_path):
    base = [str(BIN / "deblur_synth"), "--scene", "all", "--height", "48", "--width", "64", "--exposure", "0.03"]
    old, new = base + ["--seed", "1"], base + ["--seed", "2", "--overwrite"]
    out = tmp_path / "out"
    timed(old + ["--out", str(out)])
    dt = timed(new + ["--out", str(tmp_path / "ref_new")])
    ref_old, ref_new = visible(out), visible(tmp_path / "ref_new")
    sets = sorted({k.split("/")[0] for k in ref_old})
    assert len(sets) == 4
    shutil.copytree(out, tmp_path / "old")
    restore = lambda: (shutil.rmtree(out), shutil.copytree(tmp_path / "old", out))
    for t in kill_times(dt, 4, seed=0):
        t = kill_before_end(new + ["--out", str(out)], t, restore)
        now = visible(out)
        for s in sets:                                   # each scene's set: the old one or the new one, whole
            mine = {k: v for k, v in now.items() if k.split("/")[0] == s}
            want = [{k: v for k, v in ref.items() if k.split("/")[0] == s} for ref in (ref_old, ref_new)]
            assert mine in want, (t, s, sorted(mine))
        assert {k.split("/")[0] for k in now} == set(sets)
    timed(new + ["--out", str(out)])                   # a complete rerun: the new result, no temporaries left
    assert visible(out) == ref_new and sorted(p.name for p in out.iterdir()) == sets


@pytest.fixture(scope="module")
def model_data(tmp_path_factory):
    import cv2
    from deblur_nbdev.dataset import iter_samples
    from deblur_nbdev.generation import generate_dataset
    from deblur_nbdev.unet import build_unet
    root = tmp_path_factory.mktemp("kill")
    generate_dataset(root / "data", n=6, n_scenes=2, height=64, width=96, shard_size=3, test_fraction=0.5,
                     progress=False)
    build_unet("blind", depth=2, width=8).save(root / "blind.keras")
    for i, s in enumerate(iter_samples(root / "data", "train")):
        if i == 2: break
        cv2.imwrite(str(root / f"b{i}.png"), (s.blurry[..., ::-1] * 255).astype(np.uint8))
    return root


def test_image_killed_leaves_old_or_new_file(model_data, tmp_path):
    cmd = lambda img, out: [str(BIN / "deblur_image"), "--model", str(model_data / "blind.keras"), "--image",
                            str(model_data / img), "--out", str(out), "--overwrite"]
    out = tmp_path / "out.png"
    timed(cmd("b0.png", out))
    dt = timed(cmd("b1.png", tmp_path / "new.png"))
    old, new = out.read_bytes(), (tmp_path / "new.png").read_bytes()
    assert old != new
    for t in kill_times(dt, 3, seed=1):
        kill_at(cmd("b1.png", out), t)
        assert out.read_bytes() in (old, new), t


def test_evaluate_killed_leaves_old_or_new_report(model_data, tmp_path):
    cmd = lambda ex, out: [str(BIN / "deblur_evaluate"), "--data", str(model_data / "data"), "--models",
                           f"blind={model_data / 'blind.keras'}", "--examples", str(ex), "--n_resamples", "50",
                           "--out", str(out), "--quiet"]
    out = tmp_path / "out"
    timed(cmd(2, out))
    dt = timed(cmd(1, tmp_path / "ref_new"))
    ref_old, ref_new = visible(out), visible(tmp_path / "ref_new")
    assert sorted(ref_old) != sorted(ref_new)                   # 2 figures, then 1: the second must not linger

    def same(now, ref):
        "The same report: the same files, figures and markdown bytes equal, results.json equal but for its path."
        if sorted(now) != sorted(ref): return False
        if any(now[k] != ref[k] for k in now if k != "results.json"): return False
        strip = lambda b: {k: v for k, v in json.loads(b).items() if k not in ("figures", "params")}
        return strip(now["results.json"]) == strip(ref["results.json"])

    for t in kill_times(dt, 3, seed=2):
        kill_at(cmd(1, out), t)
        now = visible(out)
        assert same(now, ref_old) or same(now, ref_new), (t, sorted(now))
