"""DeepGyro's office burst (not shipped; ../shared/data/deepgyro_office) through `deblur_image`'s deconvolution, frame
by frame at full size: seconds, skimage's blur_effect before/after, and 1:1 crops to look at.

    .venv/bin/python tools/real_office.py                    # frames 2–6, as deblur_image does it (the gyro's paths)
    .venv/bin/python tools/real_office.py --fit_length       # paths scaled by the length kernel_fit prefers (15e)

Frames 1 and 7 are not covered by the gyro record (15e_real_photos). Crops go to runs/real_office/ (git-ignored)."""
import argparse, time
from pathlib import Path
import numpy as np
from skimage.measure import blur_effect
from deblur_nbdev.command import write_png
from deblur_nbdev.deconvolution import deconvolve_tiles, kernel_fit
from deblur_nbdev.imu_calibration import DATA_DIR
from deblur_nbdev.inference import (read_imu_capture, photo_camera, imu_paths, REAL_STRENGTH, REAL_NOISE_FLOOR,
                                    REAL_CLIP)
from deblur_nbdev.scenes import read_image

ROOT = Path(__file__).resolve().parents[1]
CROPS = {"books": (1080, 300), "desk": (1180, 700), "left": (120, 330)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "deepgyro_office"))
    ap.add_argument("--frames", default="2,3,4,5,6")
    ap.add_argument("--fit_length", action="store_true", help="scale the paths by kernel_fit's preferred length")
    ap.add_argument("--out", default=str(ROOT / "runs" / "real_office"))
    a = ap.parse_args()
    data, out = Path(a.data), Path(a.out)
    if not data.is_dir(): raise SystemExit(f"--data: {data} not found (the office burst is not shipped)")
    out.mkdir(parents=True, exist_ok=True)
    print("| frame | blur px | length scale | seconds | blur_effect before | after |\n|---|---|---|---|---|---|")
    for n in (int(f) for f in a.frames.split(",")):
        image = data / "images" / f"{n:04d}.jpg"
        img = read_image(image, "image")
        H, W = img.shape[:2]
        t0 = time.perf_counter()
        cal = photo_camera((H, W), DATA_DIR / "deepgyro_office" / "calibration.json")
        cap = read_imu_capture(data, image, cal)
        p, ok = imu_paths(cap, cal, (H, W))
        k = 1.0
        if a.fit_length:
            fits = {s: kernel_fit(img[::2, ::2], p[::2, ::2] / 2 * s) for s in (0.75, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05)}
            k = max(fits, key=fits.get)
        r = deconvolve_tiles(img, p * k, ok, strength=REAL_STRENGTH, noise_floor=REAL_NOISE_FLOOR, linear=True,
                             clip=REAL_CLIP, full=True)
        sec = time.perf_counter() - t0
        b0, b1 = blur_effect(img.mean(-1)), blur_effect(r.image.mean(-1))
        print(f"| {n} | {r.extent:.0f} | {k:.2f} | {sec:.1f} | {b0:.3f} | {b1:.3f} |", flush=True)
        for name, (x, y) in CROPS.items():
            pair = np.concatenate([img[y:y + 260, x:x + 340], np.ones((260, 4, 3), np.float32),
                                   r.image[y:y + 260, x:x + 340]], 1)
            write_png(out / f"office{n}_{name}{'_fit' if a.fit_length else ''}.png", pair)


if __name__ == "__main__": main()
