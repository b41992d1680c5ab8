"Masks (12_masks): components on constructed cases, and the ≥95 % recall / < 2× area criterion against the simulator truth."
import numpy as np, pytest
from deblur_nbdev.masks import grow, target_occlusion_mask, photometric_mask, mask_quality, invalid_mask
from deblur_nbdev.alignment import Aligned, align_view
from deblur_nbdev.masks import rig_masks, wrong_pixels, sharp_occlusion_mask
from deblur_nbdev.realign import realign
from deblur_nbdev.camera_motion import imu_poses
from deblur_nbdev.rig_sim import default_rig, simulate_capture

def _aligned(img, zimg, depth):
    h, w = depth.shape; ok = depth > 0
    return Aligned(img, depth, np.where(ok, 0, -1), zimg, np.zeros((h, w, 2), np.float32), np.ones((h, w), np.float32), ok, 1)

def test_grow_disc():
    m = np.zeros((11, 11), bool); m[5, 5] = True
    g = grow(m, 2)
    assert g.sum() == 21 and g[5, 3] and g[4, 3] and not g[3, 3]
    assert (grow(m, 0) == m).all()

def test_target_occlusion_flags_the_far_side_of_a_depth_step():
    d = np.full((20, 40), 4.0, np.float32); d[:, :20] = 1.5
    m = target_occlusion_mask(d)
    assert m[:, 19:21].all() and not m[:, 21:].any() and not m[:, :19].any()       # one pixel on each side
    slope = np.tile(np.linspace(2, 2.5, 40, dtype=np.float32), (20, 1))     # a slanted surface is no occlusion
    assert not target_occlusion_mask(slope).any()

def test_photometric_mask_ignores_gain_and_finds_a_patch():
    g = np.random.default_rng(0); base = g.random((40, 60, 1)).astype(np.float32) * 0.5
    base = np.repeat(base, 3, -1); zimg = base * 0.8 + 0.1                 # another camera's response
    img = base.copy(); img[10:20, 10:20] = 1.0                             # the DSLR sees something else here
    m = photometric_mask(_aligned(img, zimg, np.full((40, 60), 2.0, np.float32)), threshold=0.12, sigma=1.0)
    assert m[12:18, 12:18].all() and m.sum() < 2 * 100

def test_mask_quality_and_invalid():
    w = np.zeros((10, 10), bool); w[:5] = True
    q = mask_quality(w | np.eye(10, dtype=bool), w)
    assert q["recall"] == 1 and q["area_ratio"] == pytest.approx(55 / 50)
    d = np.full((4, 4), 2.0, np.float32); d[0, 0] = 0
    assert invalid_mask(_aligned(np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 3), np.float32), d)).sum() == 1

def _masks(rig, cap, R_zp, T_zp):
    ze, ph, ds = rig["zed"], rig["phone"], rig["dslr"]; R_zs, T_zs = rig.relative("zed", "dslr")
    al = align_view(cap.zed.image, cap.zed.depth, ze.K, ph.K, ph.size, R_zp, T_zp, cap.dslr.image, ds.K, R_zs, T_zs)
    return al, rig_masks(al, cap.zed.depth, ze.K, R_zs, T_zs, ds.K, ds.size), wrong_pixels(al, cap.sharp.image, cap.sharp.depth)

@pytest.mark.parametrize("seed", [1, 5])
def test_masks_cover_the_wrong_pixels(seed):
    rig = default_rig(0.5); cap = simulate_capture(rig, seed=seed)
    al, mk, wrong = _masks(rig, cap, *rig.relative("zed", "phone"))
    q = mask_quality(mk.mask, wrong)
    assert q["recall"] >= 0.95 and q["area_ratio"] < 2, q
    assert mk.sharp_occlusion.any() and mk.photometric.any() and mk.target_occlusion.any()

def test_masks_after_realignment():
    rig = default_rig(0.5); cap = simulate_capture(rig, seed=0, shift=0.05)
    ze, ph = rig["zed"], rig["phone"]
    res = realign(cap.zed.image, cap.zed.depth, ze.K, cap.blurry, ph.K, *rig.relative("zed", "phone"),
                  poses=imu_poses(cap.imu, cap.t_start, cap.exposure))
    _, mk, wrong = _masks(rig, cap, res.R, res.T)
    q = mask_quality(mk.mask, wrong)
    assert q["recall"] >= 0.95 and q["area_ratio"] < 2, q

def test_all_invalid_depth_is_refused():
    rig = default_rig(0.25); cap = simulate_capture(rig, seed=1)
    al, _, _ = _masks(rig, cap, *rig.relative("zed", "phone"))
    with pytest.raises(ValueError, match="no valid depth"):
        sharp_occlusion_mask(al, np.zeros(rig["zed"].size), rig["zed"].K, *rig.relative("zed", "dslr"), rig["dslr"].K, rig["dslr"].size)
