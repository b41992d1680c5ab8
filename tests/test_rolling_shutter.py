"""Exact rolling shutter (issue 24, item 2): `synthesize(..., t_readout=…)` against an exact rolling-shutter renderer.

The oracle: for a pure rotation depth does not matter, and row r of the photo is the mean of the sharp image (the
view at t = 0) warped by the rotation at many instants of that row's own exposure window [r·tr/H, r·tr/H + τ]
(inverse mapping: the photo's pixel p at time t sees the sharp image at K R(t)ᵀ K⁻¹ p, since X_t = R(t) X_0)."""
from pathlib import Path
import cv2
import numpy as np
import pytest
from skimage import data
from deblur_nbdev.camera_motion import read_deepgyro, synthetic_shake
from deblur_nbdev.imu_calibration import read_calibration, calibrated_poses
from deblur_nbdev.synthesis import synthesize

W, H = 240, 135                                         # DeepGyro's 1920×1080 at 1/8: 19–22 px of blur
OFFICE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "deepgyro_office"
CAL = Path(__file__).resolve().parents[1] / "deblur_nbdev" / "data" / "deepgyro_office" / "calibration.json"
IMG = cv2.resize(data.astronaut(), (W, H), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
DEPTH = np.full((H, W), 3.0, np.float32)               # any constant: a rotation does not see depth


def small_K():
    cal = read_calibration(CAL)
    K = cal.K.copy()
    K[:2] *= W / cal.width
    return cal, K


def exact_rolling_shutter(img, K, poses, exposure, t_readout, n=256):
    """Each row the mean of the sharp image warped (bilinear) by the rotation at `n` instants of its own window; and
    where every instant saw the inside of the sharp image (elsewhere no renderer knows the colour)."""
    h, w = img.shape[:2]
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    p = np.stack([u, v, np.ones_like(u)], -1)
    Ki, acc, inside = np.linalg.inv(K), np.zeros(img.shape, np.float64), np.ones((h, w), bool)
    for i in range(n):
        t = poses.times[0] + np.arange(h) * t_readout / h + (i + 0.5) / n * exposure
        Hm = K @ np.transpose(poses.at(t).R, (0, 2, 1)) @ Ki            # row r: photo → sharp, R(t_r)ᵀ
        q = np.einsum("rij,rcj->rci", Hm, p)
        x, y = (q[..., 0] / q[..., 2]).astype(np.float32), (q[..., 1] / q[..., 2]).astype(np.float32)
        acc += cv2.remap(img, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        inside &= (x >= 1) & (x <= w - 2) & (y >= 1) & (y <= h - 2)
    return (acc / n).astype(np.float32), inside


def blur_length(K, poses, exposure, t_readout, h, w):
    "The longest streak: the farthest any point moves from its row's start position during that row's window."
    v, u = np.mgrid[4:h:16, 4:w:16].astype(np.float64)
    p, Ki, pts = np.stack([u, v, np.ones_like(u)], -1), np.linalg.inv(K), []
    for s in np.linspace(0, 1, 33):
        q = np.einsum("rij,rcj->rci", K @ poses.at(poses.times[0] + v[:, 0] * t_readout / h + s * exposure).R @ Ki, p)
        pts.append(q[..., :2] / q[..., 2:])
    pts = np.stack(pts)
    return np.hypot(*(pts - pts[:1]).transpose(3, 0, 1, 2)).max()


def agreement(K, poses, exposure, t_readout):
    """PSNR of `synthesize` against the oracle where the oracle saw only the sharp image, a border as wide as the blur
    left out; and the blur."""
    blur = blur_length(K, poses, exposure, t_readout, H, W)
    ref, m = exact_rolling_shutter(IMG, K, poses, exposure, t_readout)
    b = synthesize(IMG, DEPTH, K, poses, exposure, t_readout=t_readout)
    e = int(np.ceil(blur)) + 2
    m[:e], m[-e:], m[:, :e], m[:, -e:] = False, False, False, False
    assert m.mean() > 0.3, m.mean()                      # most of the image is compared
    return 10 * np.log10(1 / np.mean((b.blurry - ref)[m] ** 2)), blur


@pytest.mark.parametrize("frame", [2, 3, 4, 5, 6])
def test_real_gyro_rolling_shutter_is_rendered_exactly(frame):
    if not OFFICE.is_dir(): pytest.skip("../shared/data/deepgyro_office is absent")
    cal, K = small_K()
    imu, frames = read_deepgyro(OFFICE)
    t0, exposure = frames[frame - 1]                     # frame 1 starts before the gyro log
    poses = calibrated_poses(imu, cal, t0, exposure + cal.t_readout)
    db, blur = agreement(K, poses, exposure, cal.t_readout)
    assert blur >= 15, blur
    assert db >= 45, (db, blur)


@pytest.mark.parametrize("seed", [2, 4, 7])
def test_synthetic_shake_rolling_shutter_is_rendered_exactly(seed):
    _, K = small_K()
    poses = synthetic_shake(0.06, seed=seed, rot_scale=5, trans_scale=0)
    db, blur = agreement(K, poses, 0.02, 0.0245)
    assert blur >= 15, blur
    assert db >= 45, (db, blur)


def test_oracle_is_the_global_shutter_blur_without_readout():
    "The oracle with t_readout = 0 is the same for every row; `synthesize` agrees with it as it always did."
    _, K = small_K()
    poses = synthetic_shake(0.06, seed=2, rot_scale=5, trans_scale=0)
    db, blur = agreement(K, poses, 0.02, 0.0)
    assert blur >= 15 and db >= 45, (db, blur)
