"Property-based tests (hypothesis) for nbs/05_scenes: exact depth, seeds, ray → z, resizing."
import numpy as np
from hypothesis import given, settings, strategies as st, HealthCheck
from deblur_nbdev.blur_model import default_K, intrinsics, unproject, project
from deblur_nbdev.scenes import (Scene, procedural_scene, procedural_quads, render_quads, ray_to_z, resize_scene,
                                 SCENENET_K, _texture)

SET = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

@SET
@given(st.integers(0, 10**6))
def test_procedural_scene_is_seeded_and_fully_covered(seed):
    a, b = procedural_scene(seed, 40, 56), procedural_scene(seed, 40, 56)
    assert a.image.tobytes() == b.image.tobytes() and a.depth.tobytes() == b.depth.tobytes()
    assert (a.depth > 0).all() and np.isfinite(a.depth).all()

@SET
@given(st.integers(0, 10**6), st.floats(0.35, 2.0), st.floats(0.3, 0.7), st.floats(0.3, 0.7), st.integers(0, 4))
def test_procedural_depth_lies_on_the_seen_quad_and_covers_any_K(seed, f_rel, cx_rel, cy_rel, n_boxes):
    h, w = 36, 48
    K = intrinsics(f_rel * w, f_rel * w, cx_rel * w, cy_rel * h)     # down to ~110° field of view, off-centre
    quads = procedural_quads(seed, h, w, n_boxes, K)
    _, d, ids = render_quads(quads, K, h, w, return_ids=True)
    assert (d > 0).all() and (ids >= 0).all()                          # no holes
    X = unproject(d, K)
    for i, (O, a, b, _) in enumerate(quads):
        n = np.cross(a, b); n /= np.linalg.norm(n); m = ids == i
        if m.any(): assert np.abs((X[m] - O) @ n).max() < 1e-6     # exact up to float32 storage
    np.testing.assert_array_equal(procedural_scene(seed, h, w, n_boxes, K).depth, d)

@SET
@given(st.floats(-1, 1), st.floats(-1, 1), st.floats(1, 6), st.floats(-0.5, 0.5))
def test_depth_is_exact_on_a_quad(x0, y0, z0, tilt):
    O, a, b = np.array([x0 - 2, y0 - 2, z0]), np.array([4.0, 0, tilt]), np.array([0, 4.0, -tilt])
    K = default_K(32, 24)
    _, d = render_quads([(O, a, b, _texture("coffee"))], K, 24, 32)
    X = unproject(d, K)[d > 0]
    n = np.cross(a, b); n /= np.linalg.norm(n)
    np.testing.assert_allclose((X - O) @ n, 0, atol=1e-5 * z0)

@SET
@given(st.floats(0.3, 20))
def test_ray_to_z_never_exceeds_ray_and_equals_it_on_axis(r):
    z = ray_to_z(np.full((240, 320), r), SCENENET_K)
    assert (z <= r * (1 + 1e-6)).all()
    np.testing.assert_allclose(z[120, 160], r, rtol=1e-6)

@SET
@given(st.floats(0.1, 1.5))
def test_resize_keeps_geometry_and_holes(scale):
    sc = Scene(np.full((30, 40, 3), 0.5), np.where(np.arange(40) < 20, 2.0, 0.0)[None].repeat(30, 0), default_K(40, 30))
    r = resize_scene(sc, scale)
    assert set(np.unique(r.depth)) <= {0.0, 2.0}                               # nearest: no mixed depths
    X = np.array([0.3, -0.2, 2.0])                                            # one 3D point seen by both
    p0, _ = project(X, sc.K); p1, _ = project(X, r.K)
    h, w = r.depth.shape
    np.testing.assert_allclose(p1, (p0 + 0.5) * [w / 40, h / 30] - 0.5, atol=1e-9)

