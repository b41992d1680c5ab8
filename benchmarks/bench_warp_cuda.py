"""GPU speed of the CUDA warp (nbs/03_warp_cuda), measured in one run, as ratios to the device's own copy bandwidth.

For 240×320, 1080×1920 and 3024×4032 RGB-D scenes and N poses in one launch it prints: per-pose time of `cuda_warp`
kernels (fill + pass 1 + pass 2, data already on the device) and of `cuda_accumulate` (blur synthesis on the device),
poses/s, the bytes each pose must move at least (depth read, key buffer written/read, colour/z/index written), the
achieved GB/s, and that as a fraction of a CuPy device-to-device copy measured in the same run. Also the per-pose time
of the CPU numba path on the same scene (one thread) for the ratio. Exits cleanly, with a message, without a GPU.
Usage: python benchmarks/bench_warp_cuda.py [--poses 32] [--repeats 10] [--sizes 240x320,1080x1920,3024x4032]"""
import argparse, sys, time
import numpy as np

def main(poses=32, repeats=10, sizes="240x320,1080x1920,3024x4032", cpu=True):
    from deblur_nbdev.warp_cuda import cuda_status, cuda_accumulate, GpuEngine, _grid, _chunk
    ok, why = cuda_status()
    if not ok:
        print(f"bench_warp_cuda: no GPU to measure ({why}); nothing measured."); return 0
    import cupy as cp
    from deblur_nbdev.scenes import procedural_scene
    from deblur_nbdev.camera_motion import synthetic_shake
    from deblur_nbdev.warp import projection_matrices, zbuffer_numba
    e = GpuEngine()
    dev = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    print(f"device: {dev['name'].decode() if isinstance(dev['name'], bytes) else dev['name']}, {poses} poses per launch")

    def gpu_ms(f, n):
        "Best of `n` timed runs of `f()` on the device (CUDA events), after one warm-up."
        f(); cp.cuda.Device().synchronize(); best = np.inf
        for _ in range(n):
            a, b = cp.cuda.Event(), cp.cuda.Event(); a.record(); f(); b.record(); b.synchronize()
            best = min(best, cp.cuda.get_elapsed_time(a, b))
        return best

    buf = cp.empty(256 * 2**20, np.uint8); dst = cp.empty_like(buf)
    copy_gbs = 2 * buf.nbytes / (gpu_ms(lambda: cp.copyto(dst, buf), repeats) * 1e-3) / 1e9   # read + write
    print(f"device-to-device copy (256 MiB): {copy_gbs:.0f} GB/s (read + write)")
    print(f"{'size':>10s} {'what':>11s} {'ms/pose':>9s} {'poses/s':>9s} {'GB/s':>7s} {'of copy':>8s} {'CPU/GPU':>8s}")
    tr = synthetic_shake(0.2, seed=0).sample(0.05, 0.05 / (poses - 1))
    for s in sizes.split(","):
        h, w = map(int, s.lower().split("x"))
        sc = procedural_scene(seed=0, height=h, width=w)
        P = projection_matrices(sc.K, tr.R, tr.T); m = h * w; C = 3
        n = _chunk(len(P), m, 2**30)
        dd, Pd = e.asarray(sc.depth, np.float32), e.asarray(P, np.float32)
        img = e.asarray(sc.image, np.float32).reshape(m, C)
        keys = e.empty((n, m), np.uint64); out = e.empty((n, m, C), np.float32)
        zb, ix = e.empty((n, m), np.float32), e.empty((n, m), np.int32)
        acc, wsum, hits = e.zeros((m, C), np.float32), e.zeros(m, np.float32), e.zeros(m, np.int32)
        wts = e.asarray(np.full(n, 1 / n, np.float32), np.float32)
        def warp():
            e.launch("dbn_fill_empty", _grid(m, n), (keys, m))
            e.launch("dbn_warp_keys", _grid(m, n), (dd, Pd[:n], h, w, 1, h, w, keys))
            e.launch("dbn_warp_resolve", _grid(m, n), (keys, img, C, m, out, zb, ix))
        def accumulate():
            e.launch("dbn_fill_empty", _grid(m, n), (keys, m))
            e.launch("dbn_warp_keys", _grid(m, n), (dd, Pd[:n], h, w, 1, h, w, keys))
            e.launch("dbn_accumulate", _grid(m), (keys, img, wts, n, C, m, acc, wsum, hits))
        # least traffic per pose: depth 4 B read; keys 8 B filled, ~8 B atomics, 8 B read; colour 12 + z 4 + index 4 B
        # written, colour 12 B gathered (warp) / colour 12 B gathered (accumulate; sums stay in registers)
        bytes_warp, bytes_acc = m * (4 + 8 + 8 + 8 + 12 + 4 + 4 + 12), m * (4 + 8 + 8 + 8 + 12)
        t_cpu = None
        if cpu and m <= 1080 * 1920:
            zbuffer_numba(sc.depth, P[:1], (h, w))                                   # warm-up (numba cache)
            t0 = time.perf_counter(); zbuffer_numba(sc.depth, P[:4], (h, w)); t_cpu = (time.perf_counter() - t0) / 4 * 1e3
        for what, f, nb in (("warp", warp, bytes_warp), ("accumulate", accumulate, bytes_acc)):
            t = gpu_ms(f, repeats) / n
            gbs = nb / (t * 1e-3) / 1e9
            ratio = f"{t_cpu / t:8.1f}" if t_cpu and what == "warp" else f"{'':>8s}"
            print(f"{s:>10s} {what:>11s} {t:9.4f} {1e3 / t:9.0f} {gbs:7.0f} {gbs / copy_gbs:8.0%} {ratio}")
        t0 = time.perf_counter(); cuda_accumulate(sc.image, sc.depth, P, np.full(len(P), 1 / len(P), np.float32))
        t = (time.perf_counter() - t0) * 1e3 / len(P)                   # host arrays in, host arrays out (PCIe included)
        print(f"{s:>10s} {'end-to-end':>11s} {t:9.4f} {1e3 / t:9.0f}   (cuda_accumulate from and to host memory)")
    return 0

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--poses", type=int, default=32); p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--sizes", default="240x320,1080x1920,3024x4032")
    p.add_argument("--no-cpu", action="store_true", help="skip the numba comparison")
    a = p.parse_args()
    sys.exit(main(a.poses, a.repeats, a.sizes, not a.no_cpu))
