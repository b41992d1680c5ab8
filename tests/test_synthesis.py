"Property tests of blur synthesis (nbs/04_synthesis): reproducibility, threads, kernel maps, analytic cases."
import numpy as np, pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from scipy.spatial.transform import Rotation
from deblur_nbdev.camera_motion import Poses, synthetic_shake
from deblur_nbdev.scenes import procedural_scene
from deblur_nbdev.synthesis import synthesize, accumulate_blur, kernel_maps
from deblur_nbdev.warp import project_pixels, projection_matrices

SET = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCENE = procedural_scene(seed=2, height=48, width=64)

def linear(duration, T_end=(0, 0, 0), rotvec=(0, 0, 0), n=9):
    s = np.linspace(0, 1, n)
    return Poses(Rotation.from_rotvec(s[:, None] * np.asarray(rotvec, float)).as_matrix(), s[:, None] * np.asarray(T_end, float), s * duration)

@SET
@given(st.integers(0, 10**6), st.floats(0.01, 0.08), st.sampled_from([None, 200.0, 5000.0]))
def test_same_seed_same_bytes(seed, exposure, photons):
    tr = synthetic_shake(0.1, seed=seed)
    a = synthesize(SCENE.image, SCENE.depth, SCENE.K, tr, exposure, exposure / 7, photons=photons, read_noise=0.01, seed=seed)
    b = synthesize(SCENE.image, SCENE.depth, SCENE.K, tr, exposure, exposure / 7, photons=photons, read_noise=0.01, seed=seed)
    assert a.blurry.tobytes() == b.blurry.tobytes() and a.kernel.tobytes() == b.kernel.tobytes()
    assert ((0 <= a.blurry) & (a.blurry <= 1)).all()

@SET
@given(st.integers(0, 10**6))
def test_threads_and_numpy_backend_change_nothing(seed):
    tr = synthetic_shake(0.05, seed=seed, trans_scale=3).sample(0.04, 0.01)
    one = accumulate_blur(SCENE.image, SCENE.depth, SCENE.K, tr.R, tr.T)
    two = accumulate_blur(SCENE.image, SCENE.depth, SCENE.K, tr.R, tr.T, threads=2)
    ref = accumulate_blur(SCENE.image, SCENE.depth, SCENE.K, tr.R, tr.T, backend="numpy")
    for o in (two, ref):
        np.testing.assert_array_equal(one.image, o.image); np.testing.assert_array_equal(one.hits, o.hits)

@SET
@given(st.floats(-0.05, 0.05), st.floats(-0.05, 0.05), st.integers(1, 4))
def test_kernel_maps_are_the_projected_end_displacement(tx, ty, segments):
    tr = linear(0.04, T_end=(tx, ty, 0.01), rotvec=(0.01, -0.02, 0.005))
    k = kernel_maps(SCENE.depth, SCENE.K, tr, 0.04, segments=segments)
    end = tr.at(0.04)
    px, py, _ = project_pixels(SCENE.depth, projection_matrices(SCENE.K, end.R, end.T))
    v, u = np.mgrid[0:48, 0:64]
    last = k if segments == 1 else k[:, :, -1]
    np.testing.assert_allclose(last[..., 0], px[0] - u, atol=1e-3); np.testing.assert_allclose(last[..., 1], py[0] - v, atol=1e-3)

@SET
@given(st.floats(0.005, 0.05))
def test_translation_kernel_is_f_t_over_z(t):
    k = kernel_maps(SCENE.depth, SCENE.K, linear(0.02, T_end=(t, 0, 0)), 0.02)
    np.testing.assert_allclose(k[..., 0], SCENE.K[0, 0] * t / SCENE.depth, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(k[..., 1], 0, atol=1e-3)

def test_identity_motion_returns_the_sharp_image():
    b = synthesize(SCENE.image, SCENE.depth, SCENE.K, linear(0.02), 0.02, 0.005)
    np.testing.assert_allclose(b.blurry, SCENE.image, atol=1e-5)      # sub-pixel: K·I·K⁻¹ in float32 is not exactly I
    assert (b.hits == 5).all() and not b.kernel.any()
    c = synthesize(SCENE.image, SCENE.depth, SCENE.K, linear(0.02), 0.02, 0.005, subpixel=False)
    np.testing.assert_allclose(c.blurry, SCENE.image, atol=1e-6)

def test_pure_rotation_blur_ignores_depth_order_preserving_scale():
    tr = linear(0.02, rotvec=(0.0, 0.03, 0.01))
    for sub in (False, True):
        a = synthesize(SCENE.image, SCENE.depth, SCENE.K, tr, 0.02, 0.005, subpixel=sub)
        b = synthesize(SCENE.image, SCENE.depth * 3, SCENE.K, tr, 0.02, 0.005, subpixel=sub)
        if sub: np.testing.assert_allclose(a.blurry, b.blurry, atol=1e-5)   # d/z: float32 rounding only
        else: np.testing.assert_array_equal(a.blurry, b.blurry)

@pytest.mark.parametrize("kw,msg", [
    (dict(exposure=0.0), "exposure"), (dict(exposure=-1.0), "exposure"), (dict(sample_interval=0.5), "sample_interval"),
    (dict(exposure=5.0, sample_interval=0.5), "outside"), (dict(weights=[1.0]), "weights"), (dict(t_readout=-0.01), "t_readout"),
    (dict(inpaint="always"), "inpaint"), (dict(read_noise=-1.0), "read_noise"),
])
def test_bad_input_is_named(kw, msg):
    args = dict(image=SCENE.image, depth=SCENE.depth, K=SCENE.K, poses=synthetic_shake(0.2, seed=0), exposure=0.05, sample_interval=0.01)
    args.update(kw)
    with pytest.raises((ValueError, TypeError)) as e: synthesize(**args)
    assert msg in str(e.value), str(e.value)


def test_sf_is_a_deprecated_name_of_sample_interval():
    "The former keyword `sf` still works for one release, with a DeprecationWarning, and gives the same blur."
    args = dict(image=SCENE.image, depth=SCENE.depth, K=SCENE.K, poses=synthetic_shake(0.2, seed=0), exposure=0.05)
    with pytest.warns(DeprecationWarning, match="sf= is deprecated; use sample_interval="):
        old = synthesize(**args, sf=0.01)
    np.testing.assert_array_equal(old.blurry, synthesize(**args, sample_interval=0.01).blurry)
    with pytest.raises(TypeError, match="not both"): synthesize(**args, sf=0.01, sample_interval=0.01)

def test_zero_weight_pose_reaches_nothing():
    "A pose with weight 0 adds no hit: pixels only it reaches stay holes (hits 0, value 0), never 0/0 = NaN."
    rng = np.random.default_rng(3)
    img = rng.random((20, 30, 3), dtype=np.float32); d = np.full((20, 30), 2.0, np.float32)
    K = np.array([[40., 0, 15], [0, 40, 10], [0, 0, 1]])
    R = np.stack([np.eye(3)] * 2); T = np.array([[0.25, 0, 0], [0, 0, 0]])   # pose 0 shifts 5 px right; pose 1 stays
    for backend in ("numpy", "numba"):
        a = accumulate_blur(img, d, K, R, T, weights=[1.0, 0.0], backend=backend)
        assert np.isfinite(a.image).all()
        assert (a.hits[:, :5] == 0).all() and (a.image[:, :5] == 0).all()
        assert (a.hits[:, 5:] == 1).all() and np.array_equal(a.image[:, 5:], img[:, :-5])
