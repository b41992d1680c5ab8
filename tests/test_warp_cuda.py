"""CUDA backend (nbs/03_warp_cuda) without a GPU: the exact source compiles to PTX, and the same source run on the CPU
through the g++ host harness equals the CPU backend bit for bit. Tests marked `cuda` compare a real GPU with the CPU
and run only where CuPy and a device are usable."""
import logging, subprocess, sys, types, warnings
import numpy as np, pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from scipy.spatial.transform import Rotation
import deblur_nbdev.warp_cuda as wc
from deblur_nbdev.warp_cuda import (CUDA_SOURCE, KERNELS, CudaCompileError, CudaUnavailableError, available_compilers,
                                    compile_ptx, cuda_accumulate, cuda_kernel_paths, cuda_status, cuda_warp,
                                    resolve_backend, warp_host_harness, zbuffer_cuda)
from deblur_nbdev.warp import forward_warp, projection_matrices, zbuffer_numba, zbuffer_numpy
from deblur_nbdev.synthesis import accumulate_blur, kernel_paths, pose_grid, synthesize
from deblur_nbdev.camera_motion import synthetic_shake
from deblur_nbdev.scenes import procedural_scene

SET = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HAS_GPU, WHY = cuda_status()
cuda = pytest.mark.skipif(not HAS_GPU, reason=f"needs CuPy and a CUDA GPU: {WHY}")

# ---------------------------------------------------------------- check 1: PTX
def _compilers():
    found = available_compilers()
    if not found: pytest.skip("neither NVRTC (pip install nvidia-cuda-nvrtc-cu12) nor nvcc (CUDA toolkit) is on this machine")
    return found

@pytest.mark.parametrize("compiler", ["nvrtc", "nvcc"])
def test_source_compiles_to_ptx(compiler):
    found = _compilers()
    if compiler not in found: pytest.skip(f"{compiler} not found here; checked with {found}")
    ptx = compile_ptx(compiler=compiler)                 # raises CudaCompileError on any compile error: the test fails
    for name in KERNELS: assert f".entry {name}(" in ptx, name
    assert "atom.global.min.u64" in ptx                   # pass 1's 64-bit atomicMin
    assert "fma." not in ptx and "mul.rn.f32" in ptx      # no FMA contraction: same rounding as the CPU

@pytest.mark.parametrize("broken", [CUDA_SOURCE.replace("atomicMin(", "atomicMinn("), CUDA_SOURCE + "\nint broken(", ])
def test_compile_errors_are_reported(broken):
    for c in _compilers():
        with pytest.raises(CudaCompileError): compile_ptx(broken, compiler=c)

# ---------------------------------------------------------------- check 2: host harness == CPU
@st.composite
def cases(draw):
    seed = draw(st.integers(0, 2**31 - 1)); g = np.random.default_rng(seed)
    h, w, hd, wd = (draw(st.integers(1, 40)) for _ in range(4))
    n = draw(st.integers(1, 5)); per_row = draw(st.booleans())
    d = g.uniform(0.2, 6, (h, w)).astype(np.float32)
    if draw(st.booleans()): d = np.round(d).astype(np.float32)                   # exact z ties
    for bad in (0, np.nan, -1, np.inf): d[g.random((h, w)) < 0.05] = bad           # holes of every kind
    f = g.uniform(5, 60, 2); fd = f * g.uniform(0.4, 1.5)
    Ks = np.array([[f[0], 0, g.uniform(0, w)], [0, f[1], g.uniform(0, h)], [0, 0, 1]])
    Kd = np.array([[fd[0], 0, g.uniform(0, wd)], [0, fd[1], g.uniform(0, hd)], [0, 0, 1]])
    shape = (n, h) if per_row else (n,)
    R = Rotation.from_rotvec(g.normal(0, draw(st.sampled_from([0, 0.05, 0.6])), shape + (3,)).reshape(-1, 3)).as_matrix()
    T = g.normal(0, draw(st.sampled_from([0, 0.1, 2.0])), shape + (3,))             # 2 m: points behind the camera
    img = g.random((h, w, draw(st.sampled_from([1, 3, 4])))).astype(np.float32)
    return img, d, projection_matrices(Ks, R.reshape(shape + (3, 3)), T, Kd), (hd, wd)

@SET
@given(cases(), st.booleans())
def test_host_harness_equals_cpu_backends(case, reverse):
    img, d, P, dst = case
    r = warp_host_harness(img, d, P, dst, reverse=reverse)
    win, zb = zbuffer_numba(d, P, dst)
    np.testing.assert_array_equal(r.index, win)
    np.testing.assert_array_equal(r.depth.view(np.uint32), zb.view(np.uint32))
    np.testing.assert_array_equal(r.index, zbuffer_numpy(d, P, dst)[0])
    gather = np.where(win[..., None] >= 0, img.reshape(-1, img.shape[2])[np.maximum(win, 0)], 0)
    np.testing.assert_array_equal(r.image.view(np.uint32), gather.astype(np.float32).view(np.uint32))
    w2, z2 = zbuffer_cuda(d, P, dst, engine="host")
    np.testing.assert_array_equal(w2, win)

@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.sampled_from([2**30, 1]), st.booleans())
def test_host_accumulation_equals_accumulate_blur(seed, max_bytes, rolling):
    sc = procedural_scene(seed=seed % 5, height=36, width=48)
    tr = synthetic_shake(0.1, seed=seed, trans_scale=3)
    R, T = pose_grid(tr, np.linspace(0, 0.04, 7), 36, t_readout=0.02 if rolling else 0.0)
    wts = np.random.default_rng(seed).uniform(0.1, 1, 7)
    ref = accumulate_blur(sc.image, sc.depth, sc.K, R, T, weights=wts, backend="numba")
    P = projection_matrices(sc.K, R, T)
    mean, hits, wsum = cuda_accumulate(sc.image, sc.depth, P, (wts / wts.sum()).astype(np.float32), engine="host", max_bytes=max_bytes)
    np.testing.assert_array_equal(mean.view(np.uint32), ref.image.view(np.uint32))
    np.testing.assert_array_equal(hits, ref.hits)
    np.testing.assert_array_equal(wsum.view(np.uint32), ref.weight.view(np.uint32))

@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.integers(1, 4), st.sampled_from([0.0, 0.03]))
def test_host_kernel_paths_equal_kernel_paths(seed, segments, t_readout):
    sc = procedural_scene(seed=seed % 5, height=36, width=48)
    depth = sc.depth.copy()
    depth[::7, ::5] = np.nan
    tr = synthetic_shake(0.1, seed=seed, trans_scale=4)
    ref = kernel_paths(depth, sc.K, tr, 0.05, segments=segments, t_readout=t_readout, backend="numpy")
    from deblur_nbdev.blur_model import as_depth
    R, T = pose_grid(tr, np.linspace(0, 0.05, segments + 1), 36, t_readout)
    k = cuda_kernel_paths(as_depth(depth), projection_matrices(sc.K, R, T), engine="host")
    np.testing.assert_array_equal(k.view(np.uint32), ref.view(np.uint32))

@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.booleans(), st.sampled_from([0.0, 0.03]), st.booleans())
def test_host_subpixel_accumulate_equals_cpu(seed, subpixel, t_readout, reverse):
    "Sub-pixel colour and target-row rolling shutter: host harness ≡ numba ≡ numpy, bit for bit."
    sc = procedural_scene(seed=seed % 5, height=30, width=44)
    depth = sc.depth.copy()
    depth[::9, ::7] = np.nan
    tr = synthetic_shake(0.1, seed=seed, trans_scale=4)
    R, T = pose_grid(tr, np.linspace(0, 0.04, 6), 30, t_readout)
    a = accumulate_blur(sc.image, depth, sc.K, R, T, backend="numba", subpixel=subpixel)
    b = accumulate_blur(sc.image, depth, sc.K, R, T, backend="numpy", subpixel=subpixel)
    from deblur_nbdev.blur_model import as_depth
    P = projection_matrices(sc.K, R, T)
    e = "host-reversed" if reverse else "host"
    mean, hits, wsum = cuda_accumulate(sc.image, as_depth(depth), P, np.full(6, 1 / 6, np.float32), engine=e,
                                       subpixel=subpixel, max_bytes=8 * 30 * 44 * (1 + seed % 3))
    for x in (b.image, mean): np.testing.assert_array_equal(x.view(np.uint32), a.image.view(np.uint32))
    np.testing.assert_array_equal(hits, a.hits)

@SET
@given(cases(), st.booleans())
def test_host_bilinear_warp_equals_cpu(case, reverse):
    img, d, P, dst = case
    if P.ndim == 4: P = P[:, 0]                                          # forward_warp's matrices: one per pose
    r = cuda_warp(img, d, P, dst, engine="host-reversed" if reverse else "host", sample="bilinear")
    from deblur_nbdev.warp import _gather, subpixel_numpy
    from deblur_nbdev.blur_model import as_depth
    win, zb = zbuffer_numba(as_depth(d), P, dst)
    ref = _gather(np.asarray(img, np.float32).reshape(*d.shape, -1), as_depth(d), P, win, "numba", "bilinear")
    np.testing.assert_array_equal(r.index, win)
    np.testing.assert_array_equal(r.image.view(np.uint32), ref.view(np.uint32))
    np.testing.assert_array_equal(subpixel_numpy(img.reshape(*d.shape, -1), as_depth(d), P, win).view(np.uint32),
                                  ref.view(np.uint32))

# ---------------------------------------------------------------- backend selection
@pytest.fixture
def fresh_status(monkeypatch):
    "Forget the probed CUDA status for one test (monkeypatch restores the real one afterwards)."
    monkeypatch.setattr(wc, "_STATUS", None); monkeypatch.setattr(wc, "_ANNOUNCED", False)
    return monkeypatch

def test_no_cupy_auto_falls_back_and_cuda_refuses(fresh_status):
    fresh_status.setitem(sys.modules, "cupy", None)                     # `import cupy` raises ImportError
    ok, why = cuda_status()
    assert not ok and "not installed" in why
    assert resolve_backend("auto") == "numba" and resolve_backend("auto", cpu="numpy") == "numpy"
    with pytest.raises(CudaUnavailableError, match="backend: 'cuda' needs CuPy"): resolve_backend("cuda")
    img, d, K = np.zeros((4, 5, 3), np.float32), np.ones((4, 5)), np.array([[5., 0, 2], [0, 5, 2], [0, 0, 1]])
    with pytest.raises(CudaUnavailableError): forward_warp(img, d, K, np.eye(3), np.zeros(3), backend="cuda")
    with pytest.raises(CudaUnavailableError): accumulate_blur(img, d, K, np.eye(3)[None], np.zeros((1, 3)), backend="cuda")
    np.testing.assert_array_equal(forward_warp(img, d, K, np.eye(3), np.zeros(3), backend="auto").index,
                                  forward_warp(img, d, K, np.eye(3), np.zeros(3), backend="numba").index)
    with pytest.raises(ValueError, match="backend: one of .*got .gpu."): resolve_backend("gpu")

def test_auto_says_once_which_backend(fresh_status, caplog):
    fresh_status.setitem(sys.modules, "cupy", None)
    with caplog.at_level(logging.INFO, logger="deblur_nbdev"):
        for _ in range(3): resolve_backend("auto")
    said = [r.getMessage() for r in caplog.records if "backend='auto'" in r.getMessage()]
    assert len(said) == 1 and "the CPU" in said[0] and "CuPy is not installed" in said[0]

def test_cupy_without_driver_warns_once_and_falls_back(fresh_status):
    "CuPy importable but the runtime fails (no driver): auto → CPU with one RuntimeWarning; cuda → clear error."
    def no_driver(): raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")
    fake = types.ModuleType("cupy"); fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_driver))
    fresh_status.setitem(sys.modules, "cupy", fake)
    with pytest.warns(RuntimeWarning, match="CuPy is installed but no CUDA device is usable"): assert resolve_backend("auto") == "numba"
    with warnings.catch_warnings():
        warnings.simplefilter("error"); assert resolve_backend("auto") == "numba"          # said once per process only
    with pytest.raises(CudaUnavailableError, match="insufficient"): resolve_backend("cuda")
    with pytest.raises(CudaUnavailableError): cuda_warp(None, np.ones((3, 3), np.float32), np.zeros((1, 3, 4), np.float32))

def test_import_never_imports_cupy_or_compiles():
    code = ("import sys, deblur_nbdev, deblur_nbdev.warp_cuda, deblur_nbdev.warp, deblur_nbdev.synthesis\n"
            "assert 'cupy' not in sys.modules, 'cupy imported'\n"
            "assert not deblur_nbdev.warp_cuda._MODULES and not deblur_nbdev.warp_cuda._HARNESS, 'compiled at import'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

# ---------------------------------------------------------------- on a real GPU
@cuda
@SET
@given(cases())
def test_gpu_equals_cpu(case):
    img, d, P, dst = case
    g = cuda_warp(img, d, P, dst)
    win, zb = zbuffer_numba(d, P, dst)
    np.testing.assert_array_equal(g.index, win)
    np.testing.assert_array_equal(g.depth.view(np.uint32), zb.view(np.uint32))
    h = warp_host_harness(img, d, P, dst)
    np.testing.assert_array_equal(g.image.view(np.uint32), h.image.view(np.uint32))

@cuda
def test_gpu_synthesis_equals_cpu():
    sc = procedural_scene(seed=1, height=96, width=128); tr = synthetic_shake(0.1, seed=3, trans_scale=3)
    for kw in (dict(), dict(t_readout=0.03, segments=3), dict(weights=np.linspace(1, 2, 9))):
        a = synthesize(sc.image, sc.depth, sc.K, tr, 0.04, 0.005, backend="cuda", **kw)
        b = synthesize(sc.image, sc.depth, sc.K, tr, 0.04, 0.005, backend="numba", **kw)
        np.testing.assert_array_equal(a.blurry, b.blurry); np.testing.assert_array_equal(a.hits, b.hits)
        np.testing.assert_array_equal(a.kernel, b.kernel)
    P = projection_matrices(sc.K, *pose_grid(tr, np.linspace(0, 0.04, 9), 96))
    w8 = np.full(9, 1 / 9, np.float32)
    for a, b in zip(cuda_accumulate(sc.image, sc.depth, P, w8, max_bytes=1), cuda_accumulate(sc.image, sc.depth, P, w8)):
        np.testing.assert_array_equal(a, b)                                              # chunking changes nothing

@cuda
def test_gpu_kernels_cached_per_device():
    import cupy
    k1 = wc.gpu_kernels(); k2 = wc.gpu_kernels()
    assert k1 is k2 and cupy.cuda.Device().id in wc._MODULES

# ---------------------------------------------------------------- the GPU code path, with a stand-in CuPy
def _fake_cupy():
    "A stand-in `cupy` module: numpy arrays, and a RawModule whose kernels run on the g++ host harness."
    lib = wc.host_harness_lib(); calls = []
    class RawModule:
        def __init__(self, code, options=()): calls.append((code, tuple(options)))
        def get_function(self, name):
            sig = KERNELS[name]
            def launch(grid, block, args):
                assert len(grid) == 2 and len(block) == 1 and len(args) == len(sig)
                for k, a in zip(sig, args):                                   # what CuPy needs: arrays and np.int32
                    assert (isinstance(a, np.ndarray) and a.flags.c_contiguous) if k == "p" else type(a) is np.int32, (name, k, a)
                lib.dbn_set_reverse(0)
                getattr(lib, "launch_" + name)(*grid, *block, *[a.ctypes.data if k == "p" else int(a) for k, a in zip(sig, args)])
            return launch
    cp = types.ModuleType("cupy")
    cp.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1, getDeviceProperties=lambda i: {"name": b"stand-in"}),
                                    Device=lambda: types.SimpleNamespace(id=0))
    cp.RawModule, cp.int32, cp.arange = RawModule, np.int32, np.arange
    cp.asarray = lambda a, dtype=None: np.asarray(a, dtype)
    cp.ascontiguousarray, cp.empty, cp.zeros, cp.asnumpy = np.ascontiguousarray, np.empty, np.zeros, np.asarray
    return cp, calls

def test_gpu_code_path_with_stand_in_cupy(fresh_status):
    cp, calls = _fake_cupy()
    fresh_status.setitem(sys.modules, "cupy", cp); fresh_status.setattr(wc, "_MODULES", {})
    assert resolve_backend("auto") == "cuda" and cuda_status()[1].startswith("CUDA device 0")
    sc = procedural_scene(seed=3, height=40, width=56); tr = synthetic_shake(0.1, seed=1, trans_scale=3)
    p = tr.sample(0.04, 0.005)
    Kd = sc.K * [[0.8], [0.8], [1]]
    a = forward_warp(sc.image, sc.depth, sc.K, p.R, p.T, K_dst=Kd, dst_shape=(33, 47), backend="cuda")
    b = forward_warp(sc.image, sc.depth, sc.K, p.R, p.T, K_dst=Kd, dst_shape=(33, 47), backend="numba")
    for x, y in zip(a, b): np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(forward_warp(sc.image, sc.depth, sc.K, p.R[0], p.T[0]).image,     # auto → cuda, one pose
                                  forward_warp(sc.image, sc.depth, sc.K, p.R[0], p.T[0], backend="numba").image)
    for kw in (dict(), dict(t_readout=0.02, segments=3), dict(inpaint="every")):
        g = synthesize(sc.image, sc.depth, sc.K, tr, 0.04, 0.005, backend="cuda", **kw)
        c = synthesize(sc.image, sc.depth, sc.K, tr, 0.04, 0.005, backend="numba", **kw)
        for x, y in zip(g, c): np.testing.assert_array_equal(x, y)
    assert len(calls) == 1 and calls[0] == (CUDA_SOURCE, ("--fmad=false",))      # compiled once, cached per device


@cuda
def test_a_cupy_array_on_another_gpu_is_named():
    "A CuPy input that lives on another device than the current one is refused by name, not misread."
    import cupy
    if cupy.cuda.runtime.getDeviceCount() < 2: pytest.skip("needs two GPUs")
    d = np.full((16, 16), 2.0, np.float32)
    P = projection_matrices(np.array([[16., 0, 7.5], [0, 16, 7.5], [0, 0, 1]]), np.eye(3)[None], np.zeros((1, 3)))
    with cupy.cuda.Device(0): on0 = cupy.asarray(d)
    with cupy.cuda.Device(1), pytest.raises(ValueError, match="CuPy array on GPU 0"): wc.cuda_warp(None, on0, P, (16, 16))
