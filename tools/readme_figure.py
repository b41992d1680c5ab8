"""Make the README's opening figure: the shipped real chart photo before and after `deblur_image` (1:1 crops).

    .venv/bin/python tools/readme_figure.py          # writes nbs/assets/real_chart_before_after.jpg

The photo, its gyro log and calibration ship in the package (MIT, © 2021 Vladislav Antonov; see
deblur_nbdev/data/real_chart_gyro/README.md); the command is the one a user runs:
`deblur_image --image image.jpg --imu gyro.txt --calibration calibration_refined.json --out sharp.png`."""
import tempfile
from pathlib import Path
import cv2
import numpy as np
from deblur_nbdev.imu_calibration import chart_capture
from deblur_nbdev.inference import deblur_image
from deblur_nbdev.scenes import read_image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "nbs" / "assets" / "real_chart_before_after.jpg"
CROPS = ((560, 760), (960, 1100))        # (y, x) of two 300×400 crops, at full size


def main():
    img, gyro, cal = chart_capture("refined")
    with tempfile.TemporaryDirectory() as t:
        sharp = deblur_image(image=str(img), imu=str(gyro), calibration=str(cal), out=str(Path(t) / "s.png"))
    blurry = read_image(img, "image")
    rows = []
    for y, x in CROPS:
        a, b = blurry[y:y + 300, x:x + 400], sharp[y:y + 300, x:x + 400]
        rows.append(np.hstack([a, np.ones((300, 8, 3), np.float32), b]))
    fig = np.vstack([rows[0], np.ones((8, rows[0].shape[1], 3), np.float32), rows[1]])
    fig = (np.clip(fig, 0, 1) * 255 + 0.5).astype(np.uint8)
    cv2.imwrite(str(OUT), cv2.cvtColor(fig, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(f"wrote {OUT.relative_to(ROOT)} ({fig.shape[1]}×{fig.shape[0]})")


if __name__ == "__main__": main()
