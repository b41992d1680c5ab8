"""GPU speed of the CUDA warp (nbs/03_warp_cuda), measured in one run, as ratios to the device's own copy bandwidth.

For 240×320, 1080×1920 and 3024×4032 RGB-D scenes and N poses in one launch it prints: per-pose time of `cuda_warp`
kernels (fill + pass 1 + pass 2, data already on the device) and of `cuda_accumulate` (blur synthesis on the device),
poses/s, the bytes each pose must move at least (depth read, key buffer written/read, colour/z/index written), the
achieved GB/s, and that as a fraction of a CuPy device-to-device copy measured in the same run. Also the per-pose time
of the CPU numba path on the same scene (one thread) for the ratio. Exits cleanly, with a message, without a GPU.

`--smoke` (tests/test_benchmarks.py, a few seconds): 4 poses at 48×64 through the same launch sequences, on the GPU
when there is one, else on the CPU through the g++ host harness of 03_warp_cuda (the same CUDA source; timed with the
wall clock, so its numbers say nothing about a GPU), and the results checked against `cuda_warp`/`cuda_accumulate`.
Usage: python benchmarks/bench_warp_cuda.py [--poses 32] [--repeats 10] [--sizes 240x320,1080x1920,3024x4032]
                                            [--no-cpu] [--smoke]"""
import argparse, shutil, sys, time
import numpy as np


def engine_for(smoke):
    "The GPU engine, or with `smoke` and no GPU the host harness; `(engine, None)` or `(None, why nothing runs)`."
    from deblur_nbdev.warp_cuda import cuda_status, GpuEngine, HostEngine
    ok, why = cuda_status()
    if ok: return GpuEngine(), None
    if not smoke: return None, f"bench_warp_cuda: no GPU to measure ({why}); nothing measured."
    if shutil.which("g++") is None: return None, f"bench_warp_cuda --smoke: no GPU ({why}) and no g++; nothing run."
    print(f"bench_warp_cuda --smoke: no GPU ({why}); running the kernels through the g++ host harness instead "
          "(wall-clock times of the CPU, not of a GPU)")
    return HostEngine(), None


def timer(e):
    "`ms(f, n)`: best of `n` timed runs of `f()` after a warm-up (CUDA events on a GPU, the wall clock on the host)."
    if e.name != "gpu":
        def host_ms(f, n):
            f()
            best = np.inf
            for _ in range(n):
                t = time.perf_counter()
                f()
                best = min(best, 1e3 * (time.perf_counter() - t))
            return best
        return host_ms
    cp = e.cp
    def gpu_ms(f, n):
        f()
        cp.cuda.Device().synchronize()
        best = np.inf
        for _ in range(n):
            a, b = cp.cuda.Event(), cp.cuda.Event()
            a.record()
            f()
            b.record()
            b.synchronize()
            best = min(best, cp.cuda.get_elapsed_time(a, b))
        return best
    return gpu_ms


def device_name(e):
    if e.name != "gpu": return "CPU (g++ host harness of the CUDA source)"
    dev = e.cp.cuda.runtime.getDeviceProperties(e.cp.cuda.Device().id)
    return dev["name"].decode() if isinstance(dev["name"], bytes) else dev["name"]


def copy_gbs(e, ms, repeats, mib):
    "Device-to-device copy bandwidth (read + write) of `mib` MiB, GB/s."
    buf = e.zeros(mib * 2**20, np.uint8)
    dst = e.empty(buf.shape, np.uint8)
    copy = (lambda: e.cp.copyto(dst, buf)) if e.name == "gpu" else (lambda: np.copyto(dst, buf))
    return 2 * buf.nbytes / (ms(copy, repeats) * 1e-3) / 1e9


def launches(e, sc, P, n):
    """The kernel sequences of `cuda_warp` (nearest colour) and `cuda_accumulate` (sub-pixel, target rows) for the first
    `n` poses, data already on the device: `(warp, accumulate, check)`; `check()` compares them with the library."""
    from deblur_nbdev.warp_cuda import _grid, cuda_warp, cuda_accumulate
    h, w = sc.depth.shape
    m, C, prow = h * w, 3, P.shape[1]
    dd, Pd = e.asarray(sc.depth, np.float32), e.asarray(P[:n], np.float32)
    img = e.asarray(sc.image, np.float32).reshape(m, C)
    keys, out = e.empty((n, m), np.uint64), e.empty((n, m, C), np.float32)
    zb, ix = e.empty((n, m), np.float32), e.empty((n, m), np.int32)
    acc, wsum, hits = e.zeros((m, C), np.float32), e.zeros(m, np.float32), e.zeros(m, np.int32)
    wts = np.full(n, 1 / n, np.float32)
    Wd = e.asarray(wts, np.float32)
    def warp():
        e.launch("dbn_fill_empty", _grid(m, n), (keys, m))
        e.launch("dbn_warp_keys", _grid(m, n), (dd, Pd, h, w, prow, 0, h, w, keys))
        e.launch("dbn_warp_resolve", _grid(m, n), (keys, img, dd, Pd, h, w, prow, 0, C, h, w, out, zb, ix))
    def accumulate():
        e.launch("dbn_fill_empty", _grid(m, n), (keys, m))
        e.launch("dbn_warp_keys", _grid(m, n), (dd, Pd, h, w, prow, 1, h, w, keys))
        e.launch("dbn_accumulate", _grid(m), (keys, img, dd, Pd, h, w, prow, 1, 1, Wd, n, C, acc, wsum, hits))
    def check():
        "The timed sequences give what the library's entry points give (so the timings are of the real thing)."
        warp()
        ref = cuda_warp(sc.image, sc.depth, P[:n], engine=e)
        assert np.array_equal(e.get(ix).reshape(ref.index.shape), ref.index), "warp launches ≠ cuda_warp"
        assert e.get(out).reshape(ref.image.shape).tobytes() == ref.image.tobytes(), "warp launches ≠ cuda_warp"
        for a in (acc, wsum, hits): a.fill(0)
        accumulate()
        _, ref_hits, ref_wsum = cuda_accumulate(sc.image, sc.depth, P[:n], wts, engine=e)
        assert np.array_equal(e.get(hits).reshape(ref_hits.shape), ref_hits), "accumulate launches ≠ cuda_accumulate"
        assert np.array_equal(e.get(wsum).reshape(ref_wsum.shape), ref_wsum), "accumulate launches ≠ cuda_accumulate"
    return warp, accumulate, check


def main(poses=32, repeats=10, sizes="240x320,1080x1920,3024x4032", cpu=True, smoke=False):
    from deblur_nbdev.warp_cuda import cuda_accumulate, _chunk
    from deblur_nbdev.scenes import procedural_scene
    from deblur_nbdev.camera_motion import synthetic_shake
    from deblur_nbdev.warp import projection_matrices, zbuffer_numba, as_P
    e, why = engine_for(smoke)
    if e is None:
        print(why)
        return 0
    ms = timer(e)
    print(f"device: {device_name(e)}, {poses} poses per launch")
    gbs_copy = copy_gbs(e, ms, repeats, 16 if smoke else 256)
    print(f"device-to-device copy: {gbs_copy:.0f} GB/s (read + write)")
    print(f"{'size':>10s} {'what':>11s} {'ms/pose':>9s} {'poses/s':>9s} {'GB/s':>7s} {'of copy':>8s} {'CPU/GPU':>8s}")
    tr = synthetic_shake(0.2, seed=0).sample(0.05, 0.05 / (poses - 1))
    for s in sizes.split(","):
        h, w = map(int, s.lower().split("x"))
        sc = procedural_scene(seed=0, height=h, width=w)
        P = as_P(projection_matrices(sc.K, tr.R, tr.T), h)                  # N×1×3×4, as the kernels take it
        m = h * w
        n = _chunk(len(P), m, 2**30)
        warp, accumulate, check = launches(e, sc, P, n)
        if smoke: check()
        # least traffic per pose: depth 4 B read; keys 8 B filled, ~8 B atomics, 8 B read; colour 12 + z 4 + index 4 B
        # written, colour 12 B gathered (warp) / colour 12 B gathered (accumulate; sums stay in registers)
        bytes_warp, bytes_acc = m * (4 + 8 + 8 + 8 + 12 + 4 + 4 + 12), m * (4 + 8 + 8 + 8 + 12)
        t_cpu = None
        if cpu and m <= 1080 * 1920:
            zbuffer_numba(sc.depth, P[:1], (h, w))                                   # warm-up (numba cache)
            t0 = time.perf_counter()
            zbuffer_numba(sc.depth, P[:4], (h, w))
            t_cpu = (time.perf_counter() - t0) / 4 * 1e3
        for what, f, nb in (("warp", warp, bytes_warp), ("accumulate", accumulate, bytes_acc)):
            t = ms(f, repeats) / n
            gbs = nb / (t * 1e-3) / 1e9
            ratio = f"{t_cpu / t:8.1f}" if t_cpu and what == "warp" else f"{'':>8s}"
            print(f"{s:>10s} {what:>11s} {t:9.4f} {1e3 / t:9.0f} {gbs:7.0f} {gbs / gbs_copy:8.0%} {ratio}")
        t0 = time.perf_counter()
        cuda_accumulate(sc.image, sc.depth, P, np.full(len(P), 1 / len(P), np.float32), engine=e)
        t = (time.perf_counter() - t0) * 1e3 / len(P)               # host arrays in, host arrays out (PCIe included)
        print(f"{s:>10s} {'end-to-end':>11s} {t:9.4f} {1e3 / t:9.0f}   (cuda_accumulate from and to host memory)")
    if smoke: print("smoke: the timed launch sequences give the same bits as cuda_warp / cuda_accumulate")
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--poses", type=int, default=32)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--sizes", default="240x320,1080x1920,3024x4032")
    p.add_argument("--no-cpu", action="store_true", help="skip the numba comparison")
    p.add_argument("--smoke", action="store_true", help="a few seconds: 4 poses at 48×64, on the host harness "
                   "without a GPU")
    a = p.parse_args()
    if a.smoke: sys.exit(main(4, 1, "48x64", not a.no_cpu, smoke=True))
    sys.exit(main(a.poses, a.repeats, a.sizes, not a.no_cpu))
