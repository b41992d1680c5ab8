"""Dataset generation and loading throughput (issue #4): samples/s for 1 and 2 local workers, a Dask LocalCluster of 2
workers, and the tf.data loader at 240×320. Prints ratios measured in one run; no pass/fail.

Generation rates are *marginal*: each backend makes n1 and then n2 samples into fresh folders and the rate is
(n2 − n1) / (t2 − t1), which cancels start-up costs (process spawn, imports, numba cache loading) that a long run pays
once.
`--smoke` (tests/test_benchmarks.py, about 20 s): 4 samples of 48×64 once on every backend (end-to-end rates, start-up
included) and two loader variants, the loader's process running beside the generation: its numbers mean nothing.

    .venv/bin/python benchmarks/bench_dataset.py [--n1 16] [--n2 48] [--height 240] [--width 320] [--smoke]
"""
import argparse, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from deblur_nbdev.generation import generate_dataset

VARIANTS = (("blind", None), ("depth", None), ("kernel", None), ("depth+kernel", None), ("depth+kernel", (128, 128)))

def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t

def marginal(root, name, n1, n2, **kw):
    "Samples/s between an n1- and an n2-sample run, and the end-to-end rate of the n2 run (n1 = 0: the n2 run only)."
    t1 = timed(lambda: generate_dataset(root / f"{name}1", progress=False, n=n1, **kw)) if n1 else 0.0
    t2 = timed(lambda: generate_dataset(root / f"{name}2", progress=False, n=n2, **kw))
    return (n2 - n1) / (t2 - t1), n2 / t2

def loader(folder, a):
    "tf.data loader throughput on a finished dataset folder."
    from deblur_nbdev.loader import make_tf_dataset
    print(f"\ntf.data loader ({a.n2} samples of {a.height}×{a.width}, batch 8, shuffled, flips, repeat)")
    print(f"{'variant':22s} {'samples/s':>10s} {'per CPU-second':>15s}")
    for variant, crop in (VARIANTS[::4] if a.smoke else VARIANTS):
        crop = crop if crop is None else tuple(min(c, s) for c, s in zip(crop, (a.height, a.width)))
        ds = iter(make_tf_dataset(folder, variant, batch=8, crop=crop, repeat=True, seed=0))
        for _ in range(a.warmup): next(ds)                            # warm-up: tracing, XLA compile, first shards
        def consume():                   # each batch is dropped once taken, as a training loop does; keeping all of
            for _ in range(a.batches): next(ds)  # them (≈1.3 GB) made every batch fault in fresh pages: 3-5x slower
        c = time.process_time()
        t = timed(consume)
        c = time.process_time() - c
        label = variant + (f" crop {crop[0]}×{crop[1]}" if crop else "")
        print(f"{label:22s} {8 * a.batches / t:10.0f} {8 * a.batches / c:15.0f}")
        del ds
    print("target: ≥ 500 samples/s at 240×320 ('per CPU-second': samples per second of this process's CPU time,\n"
          "all threads; less sensitive to other load on a shared machine)")

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n1", type=int, default=16)
    ap.add_argument("--n2", type=int, default=48)
    ap.add_argument("--height", type=int, default=240)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--batches", type=int, default=60, help="tf.data batches of 8 to time")
    ap.add_argument("--warmup", type=int, default=20, help="tf.data batches taken before timing")
    ap.add_argument("--loader", help="only time the tf.data loader on this dataset folder")
    ap.add_argument("--smoke", action="store_true", help="about 20 s: every backend once, 4 samples of 48×64")
    a = ap.parse_args()
    if a.smoke and not a.loader: a.n1, a.n2, a.height, a.width, a.batches, a.warmup = 0, 4, 48, 64, 1, 1
    if a.loader: return loader(Path(a.loader), a)
    root = Path(tempfile.mkdtemp(prefix="bench_dataset_"))
    kw = dict(height=a.height, width=a.width, n_scenes=2 if a.smoke else 16, shard_size=2 if a.smoke else 4,
              focal=(0.8, 1.5), seed=0)
    try:
        rows = {}
        rows["1 worker (in process)"] = marginal(root, "serial", a.n1, a.n2, workers=1, **kw)
        # the loader in a process of its own, as a training job reads a finished dataset (measured in-process after
        # generation it gives the same rates, within noise)
        cmd = [sys.executable, __file__, "--loader", str(root / "serial2"), "--batches", str(a.batches), "--warmup",
               str(a.warmup), "--height", str(a.height), "--width", str(a.width), "--n2", str(a.n2)]
        if a.smoke:                                  # beside the generation below: a smoke's timings mean nothing
            proc = subprocess.Popen(cmd + ["--smoke"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        else: subprocess.run(cmd, check=True)
        rows["2 workers (process pool)"] = marginal(root, "pool", a.n1, a.n2, workers=2, **kw)
        from dask.distributed import LocalCluster, Client
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
                Client(cl) as c:
            c.submit(sum, [1]).result()                                       # workers up
            rows["Dask LocalCluster (2 workers)"] = marginal(root, "dask", a.n1, a.n2, client=c, **kw)
        if a.smoke:
            print(proc.communicate()[0])
            if proc.returncode: sys.exit(f"bench_dataset --smoke: the loader failed (exit {proc.returncode})")
        same = all((root / "serial2" / f).read_bytes() == (root / d / f).read_bytes()
                   for d in ("pool2", "dask2") for f in os.listdir(root / "serial2"))
        base = rows["1 worker (in process)"][0]
        note = ", smoke: one run each, start-up included" if a.smoke else ""
        print(f"\nGeneration at {a.height}×{a.width}, shards of {kw['shard_size']}, on {os.cpu_count()} cores "
              f"(same bytes on every backend: {same}){note}")
        print(f"{'backend':32s} {'samples/s':>10s} {'vs 1 worker':>12s} {'end-to-end':>11s}")
        for k, (r, e2e) in rows.items(): print(f"{k:32s} {r:10.2f} {r / base:11.2f}× {e2e:10.2f}/s")
        pool, dask = rows["2 workers (process pool)"][0], rows["Dask LocalCluster (2 workers)"][0]
        print(f"targets: 2 workers ≥ 1.7× one worker → {pool / base:.2f}×; Dask within 15% of the pool → "
              f"{dask / pool:.2f}×")
    finally:
        shutil.rmtree(root, ignore_errors=True)
        sys.stdout.flush()

if __name__ == "__main__":
    main()
