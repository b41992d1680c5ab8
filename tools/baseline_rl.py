"""Measure the Richardson–Lucy path baseline per iteration on a dataset split: what `BASELINE_TAU` and
`BASELINE_MAX_ITERATIONS` (15a_baseline) were chosen from.

    .venv/bin/python tools/baseline_rl.py --data demo_out/dataset --iterations 60

For every image: PSNR and the residual RMS ‖Ax − b‖/√N after each iteration, the noise level σ of `sample_sigma`;
then the mean gain over blurry for fixed counts, by blur-size bin, and for the discrepancy rule at several τ.
"""
import argparse, json
import numpy as np
from deblur_nbdev.dataset import iter_samples
from deblur_nbdev.metrics import psnr
from deblur_nbdev.baseline import sample_sigma, deconvolve_paths
from deblur_nbdev.results import blur_size, BLUR_BINS
from deblur_nbdev.blur_model import valid_depth

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True); ap.add_argument("--split", default="test")
    ap.add_argument("--iterations", type=int, default=60); ap.add_argument("--max_samples", type=int, default=None)
    ap.add_argument("--taus", default="0.6,0.8,1.0,1.2,1.5"); ap.add_argument("--json", default=None)
    a = ap.parse_args()
    recs = []
    for s in iter_samples(a.data, a.split):
        if a.max_samples and len(recs) >= a.max_samples: break
        if s.path is None or np.array_equal(s.blurry, s.sharp): continue
        ps = []
        full = deconvolve_paths(s.blurry, s.path, valid_depth(s.depth), iterations=a.iterations, full=True,
                                callback=lambda k, x: ps.append(psnr(x, s.sharp, s.mask)))
        recs.append(dict(scene=s.scene, blur=blur_size(s), sigma=sample_sigma(s), p0=psnr(s.blurry, s.sharp, s.mask),
                         res=full.residuals, ps=ps))
    if a.json: json.dump(recs, open(a.json, "w"))
    g = np.array([r["ps"] for r in recs]) - np.array([r["p0"] for r in recs])[:, None]
    blur = np.array([r["blur"] for r in recs])
    print(f"{len(recs)} images; oracle (best count per image) {g.max(1).mean():+.2f} dB")
    print("fixed count: mean gain, images worse, by bin " + str(list(zip(BLUR_BINS[:-1], BLUR_BINS[1:]))))
    for k in sorted({1, 2, 5, 10, 20, 30, a.iterations} & set(range(a.iterations + 1))):
        bins = [g[(blur >= lo) & (blur < hi), k].mean() if ((blur >= lo) & (blur < hi)).any() else np.nan
                for lo, hi in zip(BLUR_BINS[:-1], BLUR_BINS[1:])]
        print(f"  {k:3d}: {g[:, k].mean():+.2f} dB, {int((g[:, k] < 0).sum())} worse, bins " + " ".join(f"{b:+.2f}" for b in bins))
    for tau in (float(t) for t in a.taus.split(",")):
        ks = [next((i for i, v in enumerate(r["res"]) if v <= tau * r["sigma"]), len(r["res"]) - 1) for r in recs]
        gs = np.array([g[j, k] for j, k in enumerate(ks)])
        print(f"  rule τ={tau}: {gs.mean():+.2f} dB, {int((gs < 0).sum())} worse, iterations {min(ks)}–{max(ks)} (mean {np.mean(ks):.1f})")

if __name__ == "__main__": main()
