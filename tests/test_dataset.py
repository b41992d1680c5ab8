"Dataset format, generation, crash/resume, parallel backends and the tf.data loader (`06_dataset`, `06a_generation`, `06b_loader`)."
import json, os, random, re, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pytest
from hypothesis import given, settings, strategies as st
from deblur_nbdev.dataset import (Sample, shard_bytes, write_shard, read_shard, read_manifest, write_dataset,
                                  verify_dataset, iter_samples)

BIN = Path(sys.executable).parent

def make_sample(index=0, h=6, w=8, P=3, split="train", scene="s", seed=0, **kw):
    g = np.random.default_rng(seed)
    return Sample(g.random((h, w, 3), np.float32), g.random((h, w, 3), np.float32), g.uniform(0.5, 5, (h, w)),
                  g.normal(0, 3, (h, w, 2)), np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1.]]),
                  np.repeat(np.eye(3)[None], P, 0), g.normal(0, 1e-3, (P, 3)), np.linspace(0, 0.05, P),
                  index=index, scene=scene, split=split, params=dict(seed=seed), **kw)

# ---------------------------------------------------------------- format
@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), P=st.integers(1, 5), k=st.integers(0, 3), seed=st.integers(0, 2**31),
       mask=st.booleans(), f32=st.booleans(), kp=st.integers(0, 3))
def test_shard_roundtrip_is_exact_and_deterministic(tmp_path_factory, h, w, P, k, seed, mask, f32, kp):
    g = np.random.default_rng(seed)
    extra = dict(kernel_segments=g.normal(0, 2, (h, w, k, 2)) if k else None, mask=g.random((h, w)) > 0.5 if mask else None,
                 path=g.normal(0, 4, (h, w, kp + 1, 2)).astype(np.float32) if kp else None)
    ss = [make_sample(i, h, w, P, seed=seed + i, **extra) for i in (7, 3)]
    d = tmp_path_factory.mktemp("rt")
    dt = "float32" if f32 else "uint8"
    rec = write_shard(d / "train-00000.npz", ss, image_dtype=dt)
    assert rec["indices"] == [3, 7] and rec["count"] == 2 and rec["bytes"] == (d / "train-00000.npz").stat().st_size
    assert shard_bytes(ss[::-1], dt) == (d / "train-00000.npz").read_bytes()          # order-free, timestamp-free
    back = read_shard(d / "train-00000.npz", sha256=rec["sha256"])
    for a, b in zip(back, sorted(ss, key=lambda s: s.index)):
        tol = 0 if f32 else 0.5 / 255 + 1e-7
        assert np.abs(a.blurry - b.blurry).max() <= tol and np.abs(a.sharp - b.sharp).max() <= tol
        for key in ("depth", "kernel", "K", "R", "T", "times"): np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
        assert (a.index, a.scene, a.split, a.params) == (b.index, b.scene, b.split, b.params)
        if k: np.testing.assert_array_equal(a.kernel_segments, b.kernel_segments)
        else: assert a.kernel_segments is None
        if mask: np.testing.assert_array_equal(a.mask, b.mask)
        else: assert a.mask is None
        if kp:                                                              # the path, bit for bit
            assert a.path.dtype == np.float32 and a.path.shape == (h, w, kp + 1, 2)
            assert a.path.tobytes() == b.path.tobytes()
        else: assert a.path is None

# ---------------------------------------------------------------- generation
from deblur_nbdev.generation import dataset_params, generate_sample, generate_dataset
from deblur_nbdev.loader import make_tf_dataset

SMALL = dict(n=10, height=32, width=48, n_scenes=4, shard_size=3, exposure=(0.02, 0.05), focal=(0.8, 1.4), seed=7,
             photons=(300, 3000), read_noise=(0, 0.01))

def folder_bytes(d): return {p.name: p.read_bytes() for p in sorted(Path(d).iterdir())}

def test_generated_paths_are_stored_and_read_back_bit_exactly(tmp_path):
    m = generate_dataset(tmp_path / "d", progress=False, **{**SMALL, "n": 4, "test_fraction": 0})
    assert m["format_version"] == 2 and m["params"]["path_segments"] == 4 and m["params"]["n_poses"] is None
    params = dataset_params(**{**SMALL, "n": 4, "test_fraction": 0})
    for s in iter_samples(tmp_path / "d"):
        fresh = generate_sample(params, s.index)
        assert s.path.shape == (32, 48, 5, 2) and s.path.tobytes() == fresh.path.tobytes()
        np.testing.assert_allclose(s.path[:, :, 0], 0, atol=1e-3)                          # reference 'start'
        np.testing.assert_allclose(s.path[:, :, -1] - s.path[:, :, 0], s.kernel, atol=1e-3)   # its ends: the kernel map
        assert np.abs(s.path).max() > 0.1
    k8 = generate_sample(dataset_params(**{**SMALL, "path_segments": 8}), 0)
    assert k8.path.shape == (32, 48, 9, 2)
    none = tmp_path / "none"
    generate_dataset(none, progress=False, **{**SMALL, "n": 3, "test_fraction": 0, "path_segments": 0})
    assert all(s.path is None for s in iter_samples(none))
    with pytest.raises(ValueError, match="sample 0 has no path.*path_segments=4"): make_tf_dataset(none, "path")
    with pytest.raises(ValueError, match="path_segments"): dataset_params(path_segments=-1)
    r = run_cli("--out", str(tmp_path / "cli"), "--n", "2", "--height", "24", "--width", "32", "--n_scenes", "2",
                "--test_fraction", "0", "--path_segments", "2", "--quiet", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert next(iter_samples(tmp_path / "cli")).path.shape == (24, 32, 3, 2)
    with pytest.raises(ValueError, match="4 segments.*2-segment"): make_tf_dataset(tmp_path / "cli", "depth+path")

def run_cli(*args, **kw):
    return subprocess.run([str(BIN / "deblur_dataset"), *args], capture_output=True, text=True, timeout=300, **kw)

def test_cli_verify_names_a_corrupt_shard_and_shows_progress(tmp_path):
    r = run_cli("--out", str(tmp_path), "--n", "6", "--height", "24", "--width", "32", "--n_scenes", "3", "--shard_size", "2")
    assert r.returncode == 0, r.stderr
    assert "sample/s" in r.stderr                                                      # tqdm rate
    assert run_cli("--out", str(tmp_path), "--verify").returncode == 0
    p = tmp_path / "train-00001.npz"; data = bytearray(p.read_bytes()); data[-200] ^= 4; p.write_bytes(bytes(data))
    r = run_cli("--out", str(tmp_path), "--verify")
    assert r.returncode != 0 and "train-00001.npz" in r.stderr and "checksum" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("--out", str(tmp_path), "--n", "6", "--height", "24", "--width", "33", "--n_scenes", "3", "--shard_size", "2")
    assert r.returncode != 0 and "--overwrite" in r.stderr and "width" in r.stderr

KILL = dict(n=64, height=64, width=96, n_scenes=5, shard_size=2, focal=(0.9, 1.3), seed=11, exposure=(0.02, 0.06))

def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path):
    ref = tmp_path / "ref"; out = tmp_path / "out"
    n_shards = len(generate_dataset(ref, progress=False, **KILL)["shards"])
    args = ["--out", str(out), "--quiet", "--workers", "1", "--exposure", "0.02,0.06", "--focal", "0.9,1.3",
            *[x for k in ("n", "height", "width", "n_scenes", "shard_size", "seed") for x in (f"--{k}", str(KILL[k]))]]
    rnd = random.Random(1234); kills = 0; progress = []
    for attempt in range(4):
        p = subprocess.Popen([str(BIN / "deblur_dataset"), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # kill points follow progress, not the clock, so a fast machine cannot finish first: the first run once it has
        # 0-3 shards in place (0: still starting up), each later one 1-3 shards after the last kill; then at a random
        # moment within 50 ms (inside a shard's write or rename, a manifest update, ...)
        goal = (progress[-1] if progress else 0) + rnd.randint(1 if attempt else 0, 3); t0 = time.monotonic()
        while len(list(out.glob("*.npz"))) < goal and p.poll() is None and time.monotonic() - t0 < 60: time.sleep(0.005)
        time.sleep(rnd.uniform(0.0, 0.05))
        if p.poll() is not None: break
        os.kill(p.pid, signal.SIGKILL); p.wait(); kills += 1
        shards = sorted(out.glob("*.npz")); progress.append(len(shards))
        for f in shards:                                              # what is in place is complete and right
            assert f.read_bytes() == (ref / f.name).read_bytes(), f.name
        if (out / "manifest.json").exists():
            m = read_manifest(out)
            assert all((out / r["file"]).exists() for r in m["shards"]) and (not m["complete"] or len(m["shards"]) == n_shards)
    assert kills >= 3
    assert any(0 < k < n_shards for k in progress), progress               # killed mid-run with work done
    print("shards in place at each kill:", progress)
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert folder_bytes(out) == folder_bytes(ref)
    assert verify_dataset(out) == {"train": 51, "test": 13}

# ---------------------------------------------------------------- parallel
def test_process_pool_gives_the_serial_bytes(tmp_path):
    generate_dataset(tmp_path / "serial", progress=False, **SMALL)
    generate_dataset(tmp_path / "pool", workers=2, progress=False, **SMALL)
    assert folder_bytes(tmp_path / "pool") == folder_bytes(tmp_path / "serial")

def test_dask_local_cluster_gives_the_serial_bytes(tmp_path):
    from dask.distributed import LocalCluster, Client
    generate_dataset(tmp_path / "serial", progress=False, **SMALL)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, Client(cl) as c:
        generate_dataset(tmp_path / "dask", client=c, progress=False, **SMALL)
        # a scheduler address works too (the CLI's --scheduler)
        generate_dataset(tmp_path / "addr", client=cl.scheduler_address, progress=False, **SMALL)
    assert folder_bytes(tmp_path / "dask") == folder_bytes(tmp_path / "serial") == folder_bytes(tmp_path / "addr")

# ---------------------------------------------------------------- tf.data
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    ss = [make_sample(i, 12, 16, split="test" if i >= 6 else "train", scene=f"s{i >= 6}", seed=i,
                      mask=(np.arange(12 * 16).reshape(12, 16) % 3 > 0) if i % 2 else None,
                      path=np.random.default_rng(100 + i).normal(0, 3, (12, 16, 5, 2))) for i in range(8)]
    write_dataset(d, ss, shard_size=3, image_dtype="float32")
    return d, ss

def test_tf_crops_and_flips_move_every_channel_together(tiny):
    d, ss = tiny
    full = {i: np.concatenate([ss[i].blurry, np.minimum(1, 0.5 / ss[i].depth)[..., None], ss[i].kernel, ss[i].sharp], -1) for i in range(6)}
    seen = set()
    for _ in range(4):
        x, y = next(iter(make_tf_dataset(d, "depth+kernel", batch=6, crop=(5, 7), seed=len(seen), kernel_scale=1.0)))
        t = np.concatenate([x.numpy(), y.numpy()], -1)
        for b in t:                                                     # find the sample, crop and flips it came from
            hits = []
            for i, f in full.items():
                for fh in (0, 1):
                    for fv in (0, 1):
                        g = f[:, ::-1] * [1, 1, 1, 1, -1, 1, 1, 1, 1] if fh else f
                        g = g[::-1] * [1, 1, 1, 1, 1, -1, 1, 1, 1] if fv else g
                        for y0 in range(12 - 5 + 1):
                            for x0 in range(16 - 7 + 1):
                                if np.allclose(g[y0:y0 + 5, x0:x0 + 7], b, atol=1e-6): hits.append((i, fh, fv))
            assert hits, "a batch element is not a crop of any (flipped) sample"
            seen |= {h[1:] for h in hits}
    assert seen == {(0, 0), (0, 1), (1, 0), (1, 1)}

def _children(pid):
    "PIDs whose parent is `pid` (from /proc)."
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid: out.append(int(d.name))
            except (OSError, IndexError, ValueError): pass
    return out

@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigkill_of_a_pool_run_leaves_no_workers_and_resumes(tmp_path):
    kw = dict(n=40, height=64, width=96, n_scenes=5, shard_size=2, seed=4)
    generate_dataset(tmp_path / "ref", progress=False, **kw)
    args = ["--out", str(tmp_path / "out"), "--quiet", "--workers", "2", *[x for k, v in kw.items() for x in (f"--{k}", str(v))]]
    p = subprocess.Popen([str(BIN / "deblur_dataset"), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    while len(list((tmp_path / "out").glob("*.npz"))) < 2 and p.poll() is None and time.monotonic() - t0 < 60: time.sleep(0.01)
    kids = _children(p.pid)
    os.kill(p.pid, signal.SIGKILL); p.wait()
    t0 = time.monotonic()
    while any(Path(f"/proc/{k}").exists() for k in kids) and time.monotonic() - t0 < 10: time.sleep(0.1)
    alive = [k for k in kids if Path(f"/proc/{k}").exists()]
    for k in alive: os.kill(k, signal.SIGKILL)                     # clean up before failing
    assert not alive, f"worker processes {alive} outlived the killed run"
    assert len(kids) >= 2
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert folder_bytes(tmp_path / "out") == folder_bytes(tmp_path / "ref")


def test_an_incomplete_dataset_is_refused_by_the_loader_and_evaluate(tmp_path):
    "A dataset whose generation was interrupted (`complete: false`) is refused, named, by make_tf_dataset and evaluate."
    from deblur_nbdev.results import evaluate
    d = tmp_path / "d"
    generate_dataset(d, n=4, height=32, width=48, n_scenes=2, workers=1, progress=False)
    m = json.loads((d / "manifest.json").read_text()); m["complete"] = False
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ValueError, match=re.escape(f"data: {d} is an incomplete dataset")): make_tf_dataset(d)
    with pytest.raises(ValueError, match="incomplete dataset"): evaluate({}, d, baseline=True, progress=False)
