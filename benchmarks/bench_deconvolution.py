"""Fast space-variant deconvolution (`deconvolve_tiles`, 15d) against the Richardson–Lucy baseline (`deconvolve_paths`).

    python benchmarks/bench_deconvolution.py              # the issue's table (about 15 min on 2 cores)
    python benchmarks/bench_deconvolution.py --smoke      # a few seconds: that it starts and both methods run

1. Quality and speed on a synthetic test set drawn like the shipped models' data (`models.json`'s `deblur_dataset`
   command, seed 22 — used nowhere else): PSNR gain over the blurry input of each method on the same images, seconds
   per image, and the speed ratio, measured in one run.
2. Photos of growing size with a rotation-like blur field (paths on a coarse grid, as `deblur_image` makes them):
   seconds, peak memory (each size in its own process) and seconds per megapixel·blur-px (flat = linear growth).
"""
import argparse, json, multiprocessing as mp, resource, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def synthetic_rows(n, seed, max_rl, small=False):
    from deblur_nbdev.generation import generate_dataset
    from deblur_nbdev.dataset import iter_samples
    from deblur_nbdev.deconvolution import deconvolve_tiles
    from deblur_nbdev.baseline import deconvolve_paths, sample_sigma
    from deblur_nbdev.blur_model import valid_depth
    from deblur_nbdev.metrics import psnr
    from deblur_nbdev.results import blur_size
    cmd = json.loads((ROOT / "deblur_nbdev/models/models.json").read_text())["models"]["path"]["dataset"]
    out = Path(tempfile.mkdtemp()) / "test"
    kw = {k: cmd[k] for k in ("height", "width", "focal", "photons", "read_noise", "reference", "sources", "exposure",
                              "rot_scale", "translation", "path_segments")}
    if small: kw.update(height=96, width=128)
    generate_dataset(out, n=n, n_scenes=max(2, n // 4), test_fraction=0.5, test_scenes=("motorcycle",), seed=seed,
                     workers=1, progress=False, **kw)
    deconvolve_tiles(np.zeros((64, 64, 3), np.float32), np.zeros((64, 64, 2, 2)))   # compile the numba loop first
    rows = []
    for split in ("train", "test"):
        for s in iter_samples(out, split):
            ok, p0 = valid_depth(s.depth), psnr(s.blurry, s.sharp, s.mask)
            t0 = time.perf_counter()
            a = deconvolve_tiles(s.blurry, s.path, ok, sigma=sample_sigma(s))
            t1 = time.perf_counter()
            r = dict(scene=s.scene, blur=blur_size(s), tiles=psnr(a, s.sharp, s.mask) - p0, t_tiles=t1 - t0)
            if len(rows) < max_rl:
                b = deconvolve_paths(s.blurry, s.path, ok, sigma=sample_sigma(s))
                r.update(rl=psnr(b, s.sharp, s.mask) - p0, t_rl=time.perf_counter() - t1)
            rows.append(r)
            print(f"  {len(rows):3d} blur {r['blur']:5.1f} px  tiles {r['tiles']:+.2f} dB {r['t_tiles']:.2f} s"
                  + (f"  RL {r['rl']:+.2f} dB {r['t_rl']:.2f} s" if "rl" in r else ""), flush=True)
    return rows


def _photo(args):
    "One photo-size run in a fresh process: (seconds, peak RSS MB)."
    H, W, blur = args
    import cv2
    from skimage import data
    from deblur_nbdev.deconvolution import deconvolve_tiles
    base = data.astronaut().astype(np.float32) / 255
    img = cv2.resize(base, (W, H), interpolation=cv2.INTER_LINEAR)
    f = 8
    h, w = -(-H // f), -(-W // f)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = 0.3 * (xx / w - 0.5) + 0.2 * (yy / h - 0.5)                  # a field that turns across the photo
    t = np.linspace(-0.5, 0.5, 9, dtype=np.float32)
    path = np.stack([np.cos(ang)[..., None] * blur * t, np.sin(ang)[..., None] * blur * t + 0.1 * blur * t ** 2], -1)
    blurry = np.clip(cv2.GaussianBlur(img, (0, 0), 2) + 0.01, 0, 1)    # content does not change the cost
    t0 = time.perf_counter()
    deconvolve_tiles(blurry, path, sigma=0.01, linear=True)
    return time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=48, help="synthetic test images")
    ap.add_argument("--rl", type=int, default=12, help="of which also deconvolved by Richardson–Lucy (13 s each)")
    ap.add_argument("--seed", type=int, default=22)
    ap.add_argument("--sizes", default="480x640:27,1080x1920:55,1080x1920:110,2160x3840:55,3000x4000:50")
    ap.add_argument("--only", choices=("synthetic", "photos"), default=None, help="run one of the two parts")
    ap.add_argument("--smoke", action="store_true", help="a few seconds: 2 images, one small photo")
    a = ap.parse_args()
    if a.smoke: a.n, a.rl, a.sizes = 2, 1, "120x160:9"
    if a.only != "photos":
        print(f"== synthetic test set like the shipped models' data (seed {a.seed}, {a.n} images, RL on {a.rl})")
        rows = synthetic_rows(a.n, a.seed, a.rl, small=a.smoke)
        both = [r for r in rows if "rl" in r]
        gt, gr = np.mean([r["tiles"] for r in both]), np.mean([r["rl"] for r in both])
        tt, tr = np.mean([r["t_tiles"] for r in both]), np.mean([r["t_rl"] for r in both])
        print("\n| method | images | PSNR gain over blurry (dB) | s / image |\n|---|---|---|---|")
        print(f"| deconvolve_tiles | {len(both)} | {gt:+.2f} | {tt:.2f} |")
        print(f"| deconvolve_paths (Richardson–Lucy) | {len(both)} | {gr:+.2f} | {tr:.2f} |")
        print(f"| deconvolve_tiles | {len(rows)} (all) | {np.mean([r['tiles'] for r in rows]):+.2f} | "
              f"{np.mean([r['t_tiles'] for r in rows]):.2f} |")
        print(f"\ngain difference (tiles − RL) {gt - gr:+.2f} dB; speed ratio RL / tiles {tr / tt:.1f}× (target ≥ 25×)")
        bins = [(0, 5), (5, 10), (10, 20), (20, 1e9)]
        print("by blur: " + ", ".join(f"{lo}–{hi if hi < 1e9 else ''} px: {np.mean([r['tiles'] for r in rows if lo <= r['blur'] < hi]):+.2f} dB"
                                      f" ({sum(lo <= r['blur'] < hi for r in rows)})"
                                      for lo, hi in bins if any(lo <= r["blur"] < hi for r in rows)))
    if a.only == "synthetic": return
    print("\n== photos (rotation-like field, paths on an 8× coarser grid, linear light)")
    print("| size | megapixels | blur px | seconds | peak MB | s / (MP · blur px) |\n|---|---|---|---|---|---|")
    ctx = mp.get_context("spawn")
    for spec in a.sizes.split(","):
        hw, blur = spec.split(":")
        H, W = (int(v) for v in hw.split("x"))
        with ctx.Pool(1) as pool: sec, mb = pool.apply(_photo, ((H, W, float(blur)),))
        mpx = H * W / 1e6
        print(f"| {W}×{H} | {mpx:.1f} | {blur} | {sec:.1f} | {mb:.0f} | {sec / (mpx * float(blur)):.4f} |", flush=True)


if __name__ == "__main__": main()
