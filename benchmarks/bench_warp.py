"""Speed of the geometry core and of blur synthesis, measured in one run on one thread.

Prints per-pose warp time of the numba and numpy backends against `cv2.remap` (LINEAR, float32 maps) on the same
240×320 scene, their ratio, and full synthesis time for 32 poses at 240×320 and 1080×1920.
Targets (issue #2): numba warp ≤ 1.5× cv2.remap; 32-pose synthesis at 240×320 ≤ 30 ms.
`--smoke` (tests/test_benchmarks.py, a few seconds): the same measurements at 48×64, one timed run each, no big size;
the targets are not judged then.
Usage: python benchmarks/bench_warp.py [--repeats 15] [--smoke]"""
import argparse, time
import numpy as np, cv2, numba
from deblur_nbdev.scenes import procedural_scene
from deblur_nbdev.camera_motion import synthetic_shake
from deblur_nbdev.warp import forward_warp
from deblur_nbdev.synthesis import synthesize

def best_ms(f, repeats):
    "Best wall time of `f()` in milliseconds over `repeats` calls (after one warm-up)."
    f()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return 1e3 * min(ts)

def main(repeats=15, size=(240, 320), big=(1080, 1920)):
    "The table; `big=None` skips the large synthesis, and the targets are judged at 240×320 only."
    cv2.setNumThreads(1)
    numba.set_num_threads(1)
    sc = procedural_scene(seed=0, height=size[0], width=size[1])
    tr = synthetic_shake(0.2, seed=0)
    p = tr.sample(0.05, 0.05 / 31)                       # 32 poses over 50 ms
    h, w = sc.depth.shape
    mx, my = np.meshgrid(np.arange(w, dtype=np.float32) + 0.37, np.arange(h, dtype=np.float32) + 0.21)
    t_remap = best_ms(lambda: cv2.remap(sc.image, mx, my, cv2.INTER_LINEAR), repeats * 10)
    t_nb = best_ms(lambda: forward_warp(sc.image, sc.depth, sc.K, p.R, p.T), repeats) / len(p)
    t_np = best_ms(lambda: forward_warp(sc.image, sc.depth, sc.K, p.R[:4], p.T[:4], backend="numpy"),
                   max(1, repeats // 5)) / 4
    t_syn = best_ms(lambda: synthesize(sc.image, sc.depth, sc.K, tr, 0.05, 0.05 / 31), repeats)
    judged = tuple(size) == (240, 320)
    s = f"{h}×{w}"
    rows = [(f"cv2.remap LINEAR float32, {s}", t_remap, ""),
            (f"numba forward_warp per pose, {s}", t_nb, f"{t_nb / t_remap:.2f}× remap"
                                                         + (" (target ≤ 1.5×)" if judged else "")),
            (f"numpy forward_warp per pose, {s}", t_np, f"{t_np / t_remap:.1f}× remap, {t_np / t_nb:.0f}× numba"),
            (f"synthesize 32 poses, {s}", t_syn, f"target ≤ 30 ms: {'met' if t_syn <= 30 else 'NOT met'}"
                                                 if judged else "")]
    if big:
        bs = procedural_scene(seed=0, height=big[0], width=big[1])
        t_big = best_ms(lambda: synthesize(bs.image, bs.depth, bs.K, tr, 0.05, 0.05 / 31), 3)
        rows.append((f"synthesize 32 poses, {big[0]}×{big[1]}", t_big,
                     f"{t_big / t_syn:.0f}× the {s} time for {big[0] * big[1] / (h * w):.0f}× the pixels"))
    print(f"{'measurement (one thread, best of runs)':44s} {'ms':>9s}  ratio")
    for name, t, note in rows: print(f"{name:44s} {t:9.3f}  {note}")
    if not judged: print(f"(smoke: {s}, targets not judged)")

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--smoke", action="store_true", help="a few seconds: 48×64, one timed run each, no big size")
    a = ap.parse_args()
    if a.smoke: main(1, (48, 64), None)
    else: main(a.repeats)
