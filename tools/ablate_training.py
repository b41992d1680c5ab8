"""The training-recipe ablation of `14_training`: one dataset, one variant, one change at a time; writes a JSON table.

    .venv/bin/python tools/ablate_training.py --data demo_out/dataset --out runs/ablation --steps 2000

Each row trains with `deblur_nbdev.training.train` (the command line `deblur_train` runs the same function; the row
records that command) and scores the test split with `deblur_nbdev.results.evaluate` (no baseline). Rows already in
the JSON are kept, so an interrupted ablation resumes.

Rows about the data (`data` in their overrides: `generate_dataset` parameters over the demo's) train on a dataset of
their own, drawn with another seed (so its procedural scenes are not the test split's), and are scored on the test
split of `--data` like every other row: same test images, only the training data differ.
"""
import argparse, json, os, sys, time
from pathlib import Path

BASE = dict(lr=1e-3, schedule="step", loss="l1")   # the `cpu` preset before this ablation chose its recipe
ROWS = [  # name, overrides of BASE (besides epochs/steps), what it tests
    ("reference", dict(), "the former `cpu` preset: L1, lr 1e-3 stepped ×0.1 at 80 %, U-Net depth 3 / width 16, 64² crops"),
    ("cosine", dict(schedule="cosine"), "cosine schedule (to 10 % of lr: decay 0.1)"),
    ("cosine, lr 2e-3", dict(schedule="cosine", lr=2e-3), "higher learning rate"),
    ("cosine, PSNR loss", dict(schedule="cosine", loss="psnr"), "NAFNet's loss"),
    ("cosine, L1+FFT loss", dict(schedule="cosine", loss="l1+fft"), "MIMO-UNet's loss"),
    ("cosine, crop 96²", dict(schedule="cosine", crop="96,96"), "larger crops"),
    ("cosine, width 32", dict(schedule="cosine", width=32), "wider U-Net (≈4× the compute per step)"),
    ("cosine, depth 4", dict(schedule="cosine", depth=4), "deeper U-Net"),
    ("cosine, NAF blocks", dict(schedule="cosine", arch="naf", blocks=1), "NAFNet blocks, 1 per level"),
    ("cosine, batch 16", dict(schedule="cosine", batch=16), "larger batches"),
]
RECIPE = dict(lr=2e-3, schedule="cosine", loss="l1+fft")   # the recipe the rows above chose (the `cpu` preset now)
DATA_ROWS = [  # the training data's size, diversity and blur distribution, with RECIPE; each its own dataset, seed 10
    ("data: 384 samples, 24 scenes", dict(n=384, n_scenes=24), "reference of the data rows: the demo's size, seed 10"),
    ("data: 192 samples, 24 scenes", dict(n=192, n_scenes=24), "half the samples"),
    ("data: 1536 samples, 24 scenes", dict(n=1536, n_scenes=24), "4× the samples, the same scenes"),
    ("data: 384 samples, 6 scenes", dict(n=384, n_scenes=6), "less diversity: 4× fewer scenes"),
    ("data: 1536 samples, 96 scenes", dict(n=1536, n_scenes=96), "more samples and 4× the scenes"),
    ("blur: exposure 10–30 ms", dict(n=384, n_scenes=24, exposure=(0.01, 0.03)), "smaller blur (the demo: 20–50 ms)"),
    ("blur: exposure 30–80 ms", dict(n=384, n_scenes=24, exposure=(0.03, 0.08)), "larger blur"),
]

def make_data(out, spec, height, width):
    "The training dataset of a data row: the demo's parameters, `spec` over them, seed 10 (made once, then reused)."
    from deblur_nbdev.demo import DEMO_DATA
    from deblur_nbdev.generation import generate_dataset
    kw = {**DEMO_DATA, "height": height, "width": width, "seed": 10, **spec}
    name = "data-" + "-".join(f"{k}{'_'.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in spec.items())
    generate_dataset(out / name, workers=os.cpu_count() or 1, progress=False, **kw)
    return out / name, kw

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True); ap.add_argument("--out", default="runs/ablation")
    ap.add_argument("--variant", default="depth+kernel"); ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=10); ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows", default="", help="row names separated by | (default: all)")
    ap.add_argument("--extra", default="", help="JSON list of extra rows [name, overrides, why]")
    ap.add_argument("--table", default=None, help="JSON file of results (default OUT/ablation.json)")
    a = ap.parse_args()
    from deblur_nbdev.training import train
    from deblur_nbdev.results import evaluate
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    table_p = Path(a.table or out / "ablation.json")
    table = json.loads(table_p.read_text()) if table_p.is_file() else []
    done = {(r["name"], r["variant"], r["seed"], r["steps"]) for r in table}
    rows = ROWS + [tuple(r) for r in json.loads(a.extra or "[]")]
    rows += [(name, dict(RECIPE, data=spec), why) for name, spec, why in DATA_ROWS]
    from deblur_nbdev.dataset import read_manifest
    ref = read_manifest(a.data)["params"]
    want = [r for r in rows if not a.rows or r[0] in a.rows.split("|")]
    for name, over, why in want:
        key = (name, a.variant, a.seed, a.steps)
        if key in done: continue
        over = {**BASE, **over}
        spec = over.pop("data", None)
        data_dir, made = make_data(out, spec, ref["height"], ref["width"]) if spec else (a.data, None)
        run = out / f"{a.variant.replace('+', '_')}-{name.replace(' ', '_').replace(',', '').replace('²', '')}-s{a.seed}-{a.steps}"
        t = time.perf_counter()
        r = train(data_dir, run, a.variant, preset="cpu", epochs=a.epochs, steps_per_epoch=a.steps // a.epochs, seed=a.seed,
                  val=False, progress=False, **over)
        t_train = time.perf_counter() - t
        ev = evaluate({a.variant: r["model_path"]}, a.data, split="test", baseline=False, progress=False, examples=0)
        s = ev["summary"]["all"]
        flags = " ".join(f"--{dict(depth='unet_depth', width='unet_width').get(k, k)} {v}" for k, v in over.items())
        row = dict(name=name, why=why, variant=a.variant, seed=a.seed, steps=a.steps, overrides=over, data=str(data_dir),
                   test=str(a.data), dataset=made,
                   train_s=round(t_train, 1), blurry=s["blurry"]["psnr"]["mean"], psnr=s[a.variant]["psnr"]["mean"],
                   gain_ci=[ev["paired"]["all"][f"{a.variant} − blurry"]["psnr"][k] for k in ("lo", "hi")],
                   motorcycle=ev["paired"].get("motorcycle", {}).get(f"{a.variant} − blurry", {}).get("psnr", {}).get("mean"),
                   command=f"deblur_train --data {data_dir} --out {run} --variant {a.variant} --preset cpu "
                   f"--epochs {a.epochs} --steps_per_epoch {a.steps // a.epochs} --seed {a.seed} --no_val {flags}".strip())
        row["gain"] = row["psnr"] - row["blurry"]
        table.append(row)
        tmp = table_p.with_suffix(".tmp"); tmp.write_text(json.dumps(table, indent=1)); os.replace(tmp, table_p)
        print(f"{name:28s} {row['psnr']:.2f} dB ({row['gain']:+.2f}) in {t_train:.0f} s", flush=True)

if __name__ == "__main__": main()
