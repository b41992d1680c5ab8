"""The modules of deblur_nbdev import one another in one direction: no import circle (issue 24).

Reads the generated modules with `ast` (every `import`, at module level or inside a function, lazy ones included) and
checks that the graph of deblur_nbdev → deblur_nbdev imports has no cycle; the warp backends in particular stand
`warp_base` ← `warp_cuda` ← `warp` (the dispatch above both)."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "deblur_nbdev"
MODULES = sorted(p.stem for p in PKG.glob("*.py") if p.stem not in ("__init__", "_modidx"))


def local_imports(name):
    "The deblur_nbdev modules that module `name` imports anywhere in its source (top level or inside functions)."
    out = set()
    for n in ast.walk(ast.parse((PKG / f"{name}.py").read_text())):
        if isinstance(n, ast.ImportFrom):
            mod = n.module or ""
            if n.level == 0 and not (mod == "deblur_nbdev" or mod.startswith("deblur_nbdev.")): continue
            if n.level == 0: mod = mod[len("deblur_nbdev"):].lstrip(".")
            if mod: out.add(mod.split(".")[0])
            else: out |= {a.name for a in n.names}                  # from . import x / from deblur_nbdev import x
        elif isinstance(n, ast.Import):
            out |= {a.name.split(".")[1] for a in n.names if a.name.startswith("deblur_nbdev.")}
    return out & set(MODULES)


def cycles(graph):
    "Every cycle that a depth-first search meets, each as a list of modules `[a, b, …, a]`."
    found, state, stack = [], {}, []
    def visit(u):
        state[u] = "open"
        stack.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == "open": found.append(stack[stack.index(v):] + [v])
            elif v not in state: visit(v)
        stack.pop()
        state[u] = "done"
    for u in sorted(graph):
        if u not in state: visit(u)
    return found


def test_the_parser_sees_relative_absolute_and_lazy_imports():
    g = {m: local_imports(m) for m in ("warp", "synthesis")}
    assert {"blur_model", "warp_base", "warp_cuda"} <= g["warp"]
    assert "warp_cuda" in g["synthesis"]                              # a lazy import inside a function counts too
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


def test_no_import_circle():
    graph = {m: local_imports(m) for m in MODULES}
    assert not cycles(graph), f"import circles in deblur_nbdev: {cycles(graph)}"


def test_warp_backends_import_in_one_direction():
    "warp_base imports no warp module, warp_cuda only warp_base, and warp (the dispatch) both."
    assert not local_imports("warp_base") & {"warp", "warp_cuda"}
    assert "warp" not in local_imports("warp_cuda") and "warp_base" in local_imports("warp_cuda")
    assert {"warp_base", "warp_cuda"} <= local_imports("warp")


def test_shared_names_still_import_from_warp():
    "The pieces that moved to warp_base are the same objects under their old address."
    import deblur_nbdev.warp as w, deblur_nbdev.warp_base as b, deblur_nbdev.warp_cuda as wc
    for name in ("BACKENDS", "Warp", "as_P", "check_index_range", "check_target_rows"):
        assert getattr(w, name) is getattr(b, name) and name in w.__all__
    assert wc.Warp is w.Warp and wc.BACKENDS is w.BACKENDS
