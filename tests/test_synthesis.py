"""Property tests of blur synthesis (nbs/04_synthesis): reproducibility, threads, kernel maps, analytic cases.

The constructed cases (no motion, pure rotation at any depth scale, a zero-weight pose, bad input, the deprecated
`sf=`) are cells of nbs/04_synthesis."""
import numpy as np
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

@SET
@given(st.integers(0, 10**6), st.sampled_from([2, 3]), st.booleans())
def test_bands_on_threads_are_bit_identical(seed, threads, per_row):
    "Bands of target rows on threads (sources crossing bands, holes, per-row poses timed by the source row) ≡ one thread."
    sc = procedural_scene(seed=seed % 7, height=72, width=96)
    depth = sc.depth.copy()
    depth[::11, ::5] = np.nan
    tr = synthetic_shake(0.1, seed=seed, rot_scale=3, trans_scale=6)
    t = np.linspace(0, 0.04, 7)
    p = tr.at(t[:, None] + (np.arange(72) * 4e-4 if per_row else np.zeros(1))[None])
    R, T = p.R.reshape(7, -1, 3, 3), p.T.reshape(7, -1, 3)
    kw = dict(target_rows=False) if per_row else {}
    one = accumulate_blur(sc.image, depth, sc.K, R, T, **kw)
    many = accumulate_blur(sc.image, depth, sc.K, R, T, threads=threads, **kw)
    ref = accumulate_blur(sc.image, depth, sc.K, R, T, backend="numpy", **kw)
    for o in (many, ref):
        np.testing.assert_array_equal(one.image.view(np.uint32), o.image.view(np.uint32))
        np.testing.assert_array_equal(one.hits, o.hits)
