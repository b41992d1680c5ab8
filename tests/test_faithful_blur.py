"""Faithful blur (issue 7): kernel paths describe the rendered blur (reblur ≥ 45 dB), sub-pixel motion renders,
the exposure is sampled by the blur it produces, rolling-shutter maps sit on the rendered streaks, and bad depth or
motion data is refused with a message that names it."""
import cv2
import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.transform import Rotation
from skimage import data
from deblur_nbdev.blur_model import valid_depth
from deblur_nbdev.camera_motion import Poses, synthetic_shake
from deblur_nbdev.scenes import motorcycle
from deblur_nbdev.synthesis import kernel_paths, kernel_maps, reblur, synthesize, pose_times, check_depth
from deblur_nbdev.warp import project_pixels, projection_matrices

H, W = 120, 160
K = np.array([[160., 0, 79.5], [0, 160, 59.5], [0, 0, 1]])
TEXTURE = cv2.resize(data.astronaut(), (W, H), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
PLANE = np.full((H, W), 2.0, np.float32)
SHAKES = {"rotation": dict(trans_scale=0, rot_scale=2), "translation": dict(rot_scale=0, trans_scale=15),
          "mixed": dict(rot_scale=1.5, trans_scale=4)}


def psnr(a, b, mask):
    return 10 * np.log10(1 / np.mean((a - b)[mask] ** 2))


def scene(name):
    if name == "plane": return TEXTURE, PLANE, K
    m = motorcycle(scale=0.25)
    return m.image, m.depth, m.K


def trusted(depth, margin=12):
    "Valid pixels away from the border and from depth holes (the path is unknown there)."
    ok = cv2.erode(valid_depth(depth).astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) > 0
    ok[:margin], ok[-margin:], ok[:, :margin], ok[:, -margin:] = False, False, False, False
    return ok


@pytest.mark.parametrize("name", ["plane", "motorcycle"])
@pytest.mark.parametrize("shake", list(SHAKES))
def test_reblur_of_its_own_path_reproduces_synthesize(name, shake):
    img, depth, KK = scene(name)
    tr = synthetic_shake(0.05, seed=4, **SHAKES[shake])
    b = synthesize(img, depth, KK, tr, 0.04, path_segments=4)
    assert np.abs(b.path).max() > 2                                       # a real blur, not the identity
    m = trusted(depth)
    rb = reblur(img, b.path, valid=valid_depth(depth))
    assert psnr(rb, b.blurry, m) >= 45, psnr(rb, b.blurry, m)             # k = 4 segments suffice
    lin = reblur(img, kernel_paths(depth, KK, tr, 0.04, segments=1), valid=valid_depth(depth))
    assert psnr(lin, b.blurry, m) < psnr(rb, b.blurry, m)                 # the thesis' straight line describes less


def test_reblur_checks_its_inputs():
    p = np.zeros((H, W, 3, 2), np.float32)
    with pytest.raises(ValueError, match="path: shape"): reblur(TEXTURE, p[:, :-1])
    with pytest.raises(ValueError, match="path: contains NaN"): reblur(TEXTURE, np.full_like(p, np.nan))
    with pytest.raises(ValueError, match="weights"): reblur(TEXTURE, p, weights=[1.0])
    with pytest.raises(ValueError, match="valid: no pixel"): reblur(TEXTURE, p, valid=np.zeros((H, W), bool))
    np.testing.assert_allclose(reblur(TEXTURE, p), TEXTURE, atol=1e-6)   # a path that stays put changes nothing


def test_a_third_of_a_pixel_blurs_and_matches_a_continuous_rendering():
    t = 0.3 / K[0, 0] * 2.0                                             # 0.3 px sideways at 2 m
    tr = Poses(np.repeat(np.eye(3)[None], 2, 0), [[0, 0, 0], [t, 0, 0]], [0, 0.02])
    b = synthesize(TEXTURE, PLANE, K, tr, 0.02)
    ref = np.mean([ndimage.shift(TEXTURE, (0, 0.3 * s, 0), order=1, mode="nearest")
                   for s in (np.arange(256) + 0.5) / 256], 0)              # exposure integrated continuously
    m = trusted(PLANE, 4)
    assert psnr(b.blurry, TEXTURE, m) < 60                               # the image changed
    assert psnr(b.blurry, ref, m) >= 45, psnr(b.blurry, ref, m)
    whole = synthesize(TEXTURE, PLANE, K, tr, 0.02, subpixel=False)     # the thesis' whole-pixel splat: no blur
    assert np.abs(whole.blurry - TEXTURE).max() < 1e-6


def test_poses_are_sampled_by_the_blur():
    small = synthetic_shake(0.05, seed=1, rot_scale=0.05, trans_scale=0)
    big = synthetic_shake(0.05, seed=1, rot_scale=3, trans_scale=2)
    n_small = len(pose_times(PLANE, K, small, 0.04))
    b = synthesize(TEXTURE, PLANE, K, big, 0.04)
    assert n_small == 5 and len(b.times) > 5                             # the documented minimum, then by the blur
    px, py, _ = project_pixels(PLANE, projection_matrices(K, b.R, b.T))
    step = np.hypot(np.diff(px, axis=0), np.diff(py, axis=0)).max()
    assert step <= 1.05, step                                            # ≤ ~1 px between consecutive poses
    np.testing.assert_allclose(np.diff(b.times), 0.04 / len(b.times))    # midpoints of equal slices of the exposure
    assert len(synthesize(TEXTURE, PLANE, K, big, 0.04, max_step=0.5).times) > 1.8 * len(b.times)


def streak_centroids(img, centres, r):
    "Intensity-weighted centroid of the bright streak around each centre (x, y) within radius r."
    g = img.mean(-1)
    out = []
    for cx, cy in centres:
        x0, y0 = int(round(cx)) - r, int(round(cy)) - r
        win = g[y0:y0 + 2 * r + 1, x0:x0 + 2 * r + 1]
        yy, xx = np.mgrid[y0:y0 + 2 * r + 1, x0:x0 + 2 * r + 1]
        out.append(((win * xx).sum() / win.sum(), (win * yy).sum() / win.sum()))
    return np.array(out)


def test_rolling_shutter_maps_sit_on_the_rendered_streaks():
    "Bright dots on black, a pan and a tilt, 30 ms readout: blurry-frame paths predict where each streak lies."
    h, w = 160, 200
    KK = np.array([[200., 0, 99.5], [0, 200, 79.5], [0, 0, 1]])
    img = np.zeros((h, w, 3), np.float32)
    dots = [(x, y) for y in range(30, h - 30, 32) for x in range(30, w - 30, 36)]
    for x, y in dots: img[y, x] = 1.0
    t = np.linspace(0, 0.08, 81)
    rv = np.stack([-1.5 * t - 10 * t ** 2, 1.5 * t + 15 * t ** 2, 0 * t], -1)   # tilt and pan, accelerating
    tr = Poses(Rotation.from_rotvec(rv).as_matrix(), np.zeros((len(t), 3)), t)
    tau, tro = 0.02, 0.03
    b = synthesize(img, np.full((h, w), 3.0, np.float32), KK, tr, tau, t_readout=tro, path_segments=16,
                   frame="blurry", max_step=0.25)
    # ground truth: where each dot is at the reference instant of the row it lies on (fixed point over rows)
    starts = []
    for x, y in dots:
        r = y
        for _ in range(6):
            R = tr.at(r * tro / h).R[0]
            p = KK @ R @ np.linalg.inv(KK) @ [x, y, 1]
            r = p[1] / p[2]
        starts.append(p[:2] / p[2])
    starts = np.array(starts)
    measured = streak_centroids(b.blurry, starts, 14)

    def predicted(path, at):
        xi, yi = np.floor(at + 0.5).astype(int).T
        pts = path[yi, xi]                                               # D×(k+1)×2, positions minus the point's
        return at + (pts[:, 1:] + pts[:, :-1]).mean(1) / 2               # mean position over the exposure

    blurry = np.abs(predicted(b.path, starts) - measured).max()
    sharp = kernel_paths(np.full((h, w), 3.0, np.float32), KK, tr, tau, 16, t_readout=tro, frame="sharp")
    old = np.abs(predicted(sharp, np.array(dots, float)) - measured).max()
    assert blurry < 0.3, blurry                                          # blurry frame: on the streak
    assert old > 1.0, old                                                # sharp frame, timed by source row: off


@pytest.mark.parametrize("bad,msg", [
    (lambda d: np.where(np.random.default_rng(0).random(d.shape) < 0.8, np.nan, d), "valid depth"),
    (lambda d: np.full_like(d, np.nan), "valid depth"), (lambda d: np.zeros_like(d), "valid depth"),
    (lambda d: -d, "valid depth"), (lambda d: d * 1000, "millimetres"), (lambda d: (d * 1000).astype(np.uint16),
                                                                          "millimetres")])
def test_bad_depth_is_refused_with_its_name(bad, msg):
    tr = synthetic_shake(0.05, seed=0)
    with pytest.raises(ValueError, match=msg) as e: synthesize(TEXTURE, bad(PLANE), K, tr, 0.04)
    assert str(e.value).startswith("depth:")
    with pytest.raises(ValueError, match=msg): kernel_maps(bad(PLANE), K, tr, 0.04)


def test_blur_longer_than_the_image_is_refused():
    tr = synthetic_shake(0.05, seed=0)
    with pytest.raises(ValueError, match="poses: the camera motion moves image points") as e:
        synthesize(TEXTURE, np.full((H, W), 1e-6, np.float32), K, tr, 0.04)      # depth 1 µm: parallax explodes
    assert "diagonal" in str(e.value)
    fast = Poses(Rotation.from_rotvec([[0, 0, 0], [0, 1e6 * 0.05, 0]]).as_matrix(), np.zeros((2, 3)), [0, 0.05])
    with pytest.raises(ValueError, match="poses:"): synthesize(TEXTURE, PLANE, K, fast, 0.04, sample_interval=0.01)
    assert check_depth(PLANE).dtype == np.float32


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reblur_operator_adjoint_and_forward(seed):
    "The deconvolution operator: A equals reblur without clipping, and Aᵀ is its exact transpose (dot-product test)."
    from deblur_nbdev.synthesis import reblur_operator
    tr = synthetic_shake(0.05, seed=seed, rot_scale=2, trans_scale=3)
    path = kernel_paths(PLANE[:40, :56], K, tr, 0.04, segments=3)
    A = reblur_operator(path, channels=1)
    g = np.random.default_rng(seed)
    x, y = g.normal(size=A.shape[0]).astype(np.float32), g.normal(size=A.shape[0]).astype(np.float32)
    lhs, rhs = float(np.dot(A.matvec(x), y)), float(np.dot(x, A.rmatvec(y)))
    assert abs(lhs - rhs) <= 1e-4 * (abs(lhs) + 1), (lhs, rhs)
    img = TEXTURE[:40, :56, :1]
    np.testing.assert_allclose(A.matvec(img.ravel()).reshape(img.shape), reblur(img, path), atol=1e-6)
