"""Build the docs site into _docs/ without Quarto (which these machines cannot install); `make docs` runs it.

The notebooks are not executed: nbdev's own pre-processing (`nbdev.serve.proc_nbs`, as `nbdev_docs` does) writes
_proc/ (frontmatter, `#| hide`, `#| export`, show_doc cells); then each notebook becomes one page through nbconvert's
`basic` HTML template, wrapped in a page with a sidebar in book order, grouped into the parts of nbs/sidebar.yml, and
previous/next links. At build time: TeX in markdown becomes MathML (latex2mathml; browsers render it natively),
links to the github.io site or to notebooks become relative .html links, and the ipywidgets manager
(`@jupyter-widgets/html-manager`, with `requirejs`) is fetched once from the npm registry into a cache folder and
copied into _docs/_static/, so the saved widget state renders offline.

    python tools/build_docs.py [--out _docs] [--no-proc]"""
import argparse, ast, html, json, os, re, shutil, subprocess, sys, tarfile
from configparser import ConfigParser
from pathlib import Path

import nbformat, yaml
from latex2mathml.converter import convert as tex2mathml
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from pygments.formatters import HtmlFormatter

ROOT = Path(__file__).resolve().parents[1]
NPM_PKGS = {"html-manager": "@jupyter-widgets/html-manager@1.0.15", "requirejs": "requirejs@2.3.8"}
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "deblur_nbdev" / "docs-js"   # npm packages
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WARNINGS = []


def warn(msg):
    WARNINGS.append(msg)
    print("warning:", msg, file=sys.stderr)


def settings():
    cfg = ConfigParser()
    cfg.read(ROOT / "settings.ini")
    return cfg["DEFAULT"]


# ---------------------------------------------------------------- notebooks and their order

def book_sections(nbs_dir):
    """The book's parts from nbs/sidebar.yml (Quarto's sidebar format, nbdev's `custom_sidebar`): a list of
    `(section title or None, [notebook paths])` in reading order. Without a sidebar.yml: index.ipynb first, then the
    other notebooks by file name (names starting with `_` or `.` are not pages), in one untitled part."""
    f = nbs_dir / "sidebar.yml"
    if not f.is_file():
        nbs = sorted(p for p in nbs_dir.glob("*.ipynb") if not p.name.startswith(("_", ".")))
        return [(None, sorted(nbs, key=lambda p: p.name != "index.ipynb"))]
    parts = []
    for item in yaml.safe_load(f.read_text())["website"]["sidebar"]["contents"]:
        if isinstance(item, str): parts.append((None, [nbs_dir / item]))
        else: parts.append((item["section"], [nbs_dir / c for c in item["contents"]]))
    missing = [str(p) for _, ps in parts for p in ps if not p.is_file()]
    if missing: raise SystemExit(f"{f}: lists notebooks that do not exist: {', '.join(missing)}")
    return parts


def book_order(nbs_dir):
    "Every page's notebook in reading order (`book_sections`, flattened)."
    return [p for _, ps in book_sections(nbs_dir) for p in ps]


def split_frontmatter(nb):
    "The YAML of the notebook's raw frontmatter cell (nbdev's FrontmatterProc writes it), and the other cells."
    cells, fm = [], {}
    for c in nb.cells:
        src = c.source.strip()
        if c.cell_type == "raw" and not fm and src.startswith("---") and src.endswith("---"):
            fm = yaml.safe_load(src.strip("-")) or {}
        else:
            cells.append(c)
    return fm, cells


def page_name(nb_path, fm):
    return fm.get("output-file") or Path(nb_path).with_suffix(".html").name


# ---------------------------------------------------------------- TeX → MathML

_re_code = re.compile(r"(^[ \t]*(```|~~~).*?^[ \t]*\2[ \t]*$|(`+).+?\3)", re.MULTILINE | re.DOTALL)
_re_display = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
_re_inline = re.compile(r"(?<![\\$\w])\$(?![\s$])([^$\n]+?)(?<![\s\\])\$(?![\w$])")


def outside_code(md, f):
    "`md` with `f` applied to the text between its code blocks and code spans."
    out, pos = [], 0
    for m in _re_code.finditer(md):
        out += [f(md[pos:m.start()]), m.group(0)]
        pos = m.end()
    return "".join(out + [f(md[pos:])])


class Math:
    "TeX → alphanumeric placeholders before the markdown is rendered; placeholders → MathML after."
    def __init__(self): self.formulas = {}

    def _hold(self, tex, display):
        key = f"MATHPH{len(self.formulas)}X"
        try: self.formulas[key] = tex2mathml(tex.strip(), display="block" if display else "inline")
        except Exception as e:
            warn(f"TeX not converted ({e}): {tex!r}")
            self.formulas[key] = f'<code class="tex">{html.escape(tex)}</code>'
        return key

    def _text(self, text):
        text = _re_display.sub(lambda m: self._hold(m.group(1), True), text)
        return _re_inline.sub(lambda m: self._hold(m.group(1), False), text)

    def hold(self, md):
        "`md` with its formulas (outside code) replaced by placeholders."
        return outside_code(md, self._text)

    def restore(self, page):
        if not self.formulas: return page
        return re.sub(r"MATHPH\d+X", lambda m: self.formulas.get(m.group(0), m.group(0)), page)


# ---------------------------------------------------------------- markdown fixes (Quarto syntax, links)

_re_attr_link = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)\{([^}]*)\}")
_re_heading_attr = re.compile(r"^(#+ .*?)\s*\{[^}]*\}\s*$", re.MULTILINE)


def attr_link(m):
    "`[text](url){target=… style=…}` (Quarto) → an HTML link."
    attrs = " ".join(a for a in re.findall(r'\w[\w-]*="[^"]*"', m.group(3)))
    return f'<a href="{html.escape(m.group(2))}" {attrs}>{html.escape(m.group(1))}</a>'


def fix_markdown(md, math):
    "Quarto-only syntax out, formulas into `math`'s placeholders."
    md = _re_attr_link.sub(attr_link, md)
    md = outside_code(md, lambda t: _re_heading_attr.sub(r"\1", t))
    return math.hold(md)


_re_args_kwargs = re.compile(r"blob/[^/]+/(\S+?\.py)#L\d+\)[\s\S]*?"   # the source link, then the signature
                             r"(```python\ndef (\w+)\(\n\s*\*args, \*\*kwargs\n\):\n```)")


def class_signature(md):
    """show_doc gives a class without its own `__init__` (a NamedTuple, an exception) the signature
    `def Name(*args, **kwargs)`; show its `class` line instead, with a NamedTuple's fields (read from the source)."""
    m = _re_args_kwargs.search(md)
    if not m or not (ROOT / m.group(1)).exists(): return md
    lines = class_lines(ROOT / m.group(1), m.group(3))
    if not lines: return md
    return md[:m.start(2)] + "```python\n" + "\n".join(lines) + "\n```" + md[m.end(2):]


def class_lines(py, name):
    "`class name(bases):` and, for a NamedTuple, its `field: type = default` lines; None if `name` is no class."
    for node in ast.walk(ast.parse(py.read_text())):
        if not (isinstance(node, ast.ClassDef) and node.name == name): continue
        bases = [ast.unparse(b) for b in node.bases]
        fields = [f"    {ast.unparse(s)}" for s in node.body if isinstance(s, ast.AnnAssign)]
        is_tuple = any(b.endswith("NamedTuple") for b in bases)
        return [f"class {name}({', '.join(bases)}):"] + (fields if is_tuple else [])
    return None


# ---------------------------------------------------------------- cells

def directives(src):
    "The `#| key: value` lines at the top of a code cell, and the source without them."
    lines, dirs = src.splitlines(), {}
    while lines and re.match(r"\s*#\|", lines[0]):
        key, _, val = lines.pop(0).split("|", 1)[1].strip().partition(":")
        dirs[key.strip()] = val.strip().strip('"').lower() if val else ""
    return dirs, "\n".join(lines).strip()


_re_fence = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_re_md_link = re.compile(r"\[`([^`\]]+)`\]\([^)\s]*\)")


def unlink_code(md):
    "nbdev links names in show_doc's signature comments too; inside a code block that is just text: keep the name."
    return _re_fence.sub(lambda m: _re_md_link.sub(r"\1", m.group(0)), md)


def prep_output(out, math):
    data = out.get("data", {})
    if "text/markdown" in data:
        md = data["text/markdown"]
        md = "".join(md) if isinstance(md, list) else md
        data["text/markdown"] = fix_markdown(unlink_code(class_signature(md)), math)
    return out


def prep_code(c, math):
    "The cell as the page shows it, or None when nothing of it is shown."
    dirs, c.source = directives(c.source)
    if dirs.get("include") == "false": return None
    if dirs.get("output") == "false": c.outputs = []
    c.outputs = [prep_output(o, math) for o in c.get("outputs", [])]
    if dirs.get("echo") == "false" or not c.source: c.metadata.setdefault("transient", {})["remove_source"] = True
    if not c.source and not c.outputs: return None
    return c


def prep_cell(c, math):
    if "source" not in c: return None   # nbdev's hide_/rm_export delete the source of hidden and exported cells
    if c.cell_type == "code": return prep_code(c, math)
    if c.cell_type == "markdown":
        c.source = fix_markdown(c.source, math)
        return c if c.source.strip() else None
    return None   # raw cells other than the frontmatter


# ---------------------------------------------------------------- links

def fix_links(page, site_prefixes, names):
    "Absolute links into the docs site and links to notebooks → relative .html links."
    def one(m):
        url = m.group(2)
        for p in site_prefixes:
            if url.startswith(p): url = url[len(p):].lstrip("/") or "index.html"
        path, hash_, frag = url.partition("#")
        if path.endswith(".ipynb") and "://" not in path:
            path = names.get(Path(path).name, Path(path).with_suffix(".html").name)
        return f'{m.group(1)}"{path}{hash_}{frag}"'
    page = re.sub(r'(href=)"([^"]*)"', one, page)
    return lower_heading_ids(page)


def lower_heading_ids(page):
    "Quarto's (and so nbdev's link) anchors are lower case; nbconvert keeps the heading's case."
    ids = set(re.findall(r'<h\d id="([^"]+)"', page))
    for i in ids:
        if i != i.lower():
            page = page.replace(f'id="{i}"', f'id="{i.lower()}"').replace(f'href="#{i}"', f'href="#{i.lower()}"')
    return page


# ---------------------------------------------------------------- widgets: the manager from the npm registry

def npm_fetch(spec, dest):
    "Unpack the npm package `spec` into `dest` (cached); False when npm or the registry is not there."
    if (dest / "package.json").exists(): return True
    if not shutil.which("npm"): return False
    tmp = dest.parent / (dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = ["npm", "pack", spec, "--silent", "--pack-destination", str(tmp)]
    try: r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired: r = subprocess.CompletedProcess(cmd, 1, "", "timed out")
    tgz = next(tmp.glob("*.tgz"), None)
    if r.returncode or not tgz:
        warn(f"npm pack {spec} failed: {r.stderr.strip()[-300:]}")
        return False
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with tarfile.open(tgz) as t: t.extractall(tmp, **safe)
    shutil.rmtree(dest, ignore_errors=True)
    (tmp / "package").rename(dest)
    shutil.rmtree(tmp)
    return True


def install_widget_js(static):
    "Copy embed-amd.js (+ its fonts) and require.js into `static`; False without npm (widgets then show as text)."
    hm, rq = (CACHE / NPM_PKGS[k].replace("/", "+") for k in ("html-manager", "requirejs"))
    if not (npm_fetch(NPM_PKGS["html-manager"], hm) and npm_fetch(NPM_PKGS["requirejs"], rq)):
        warn("no widget manager (npm registry unreachable): widgets show as text")
        return False
    (static / "widgets").mkdir(parents=True, exist_ok=True)
    for f in (hm / "dist").iterdir():
        if f.name == "embed-amd.js" or f.suffix in (".woff2", ".woff", ".ttf", ".eot", ".svg"):
            shutil.copy2(f, static / "widgets" / f.name)
    shutil.copy2(rq / "require.js", static / "require.js")
    return True


def widget_views(nb):
    "The widget-view outputs of `nb`, in order."
    return [o.data[WIDGET_VIEW] for c in nb.cells for o in c.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]


def repair_widget_views(nb, name):
    """Point widget views whose model is missing from the saved state at the state's unreferenced top-level views.

    A notebook whose outputs and widget state were saved by different runs has views of models the state lacks
    (the page would show nothing); when there are as many such views as top-level views in the state, pair them
    in order (the state keeps creation order)."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    missing = [v for v in widget_views(nb) if v["model_id"] not in state]
    if not missing: return
    refs = set(re.findall(r"IPY_MODEL_(\w+)", json.dumps(state)))
    roots = [k for k, v in state.items() if k not in refs and v.get("state", {}).get("_view_name")]
    if len(roots) != len(missing):
        warn(f"{name}: {len(missing)} widget views have no saved state (re-run the notebook, save widget state)")
        return
    warn(f"{name}: widget views {[v['model_id'] for v in missing]} not in the saved state; paired with {roots}")
    for v, root in zip(missing, roots): v["model_id"] = root


def prep_widgets(nb, name, have_js):
    "Widget views rendered from the saved state where the manager is there, else their text fallback."
    if not have_js: nb.metadata.pop("widgets", None)
    else: repair_widget_views(nb, name)


def widget_scripts(nb, have_js):
    "The widget manager; the state itself is written by nbconvert's template."
    if not have_js or not nb.metadata.get("widgets", {}).get(WIDGET_STATE): return ""
    return '<script src="_static/require.js"></script>\n<script src="_static/widgets/embed-amd.js"></script>'


_re_jquery_element = re.compile(r'<script type="text/javascript">\s*var element = \$\(\'#[\w-]+\'\);\s*</script>')


# ---------------------------------------------------------------- pages

PAGE = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – {site}</title>
<link rel="stylesheet" href="_static/pygments.css"><link rel="stylesheet" href="_static/site.css">
<link rel="stylesheet" href="styles.css">
</head><body>
<nav class="sidebar"><a class="site-title" href="index.html">{site}</a>
<ol>
{sidebar}
</ol></nav>
<main>
<header><h1 class="title">{title}</h1>{description}</header>
{body}
<nav class="prev-next">{prev}{next}</nav>
</main>
{widgets}
</body></html>
"""

def sidebar(pages, current):
    "The sidebar: one link per page, grouped under the section titles of sidebar.yml."
    items, section = [], None
    for p in pages:
        if p["section"] != section:
            if section is not None: items.append("</ol></li>")
            section = p["section"]
            if section is not None: items.append(f'<li class="section"><span>{html.escape(section)}</span><ol>')
        cls = ' class="current"' if p["file"] == current else ""
        items.append(f'<li{cls}><a href="{p["file"]}">{html.escape(p["title"])}</a></li>')
    if section is not None: items.append("</ol></li>")
    return "\n".join(items)


def nav_link(p, rel):
    title = html.escape(p["title"])
    return f'<a rel="{rel}" href="{p["file"]}">{"← " + title if rel == "prev" else title + " →"}</a>'


def render_page(page, pages, i, exporter, cfg, have_js):
    math = Math()
    nb = page["nb"]
    nb.cells = [c for c in (prep_cell(c, math) for c in page["cells"]) if c is not None]
    prep_widgets(nb, page["nb_name"], have_js)
    body, _ = exporter.from_notebook_node(nb)
    body = _re_jquery_element.sub("", body)   # the classic template's jQuery line; there is no jQuery here
    desc = page["fm"].get("description", "")
    desc = f'<div class="description">{markdown2html_mistune(fix_markdown(desc, math))}</div>' if desc else ""
    prev = nav_link(pages[i - 1], "prev") if i else "<span></span>"
    nxt = nav_link(pages[i + 1], "next") if i + 1 < len(pages) else "<span></span>"
    out = PAGE.format(title=html.escape(page["title"]), site=html.escape(cfg["title"]), description=desc, body=body,
                      sidebar=sidebar(pages, page["file"]), prev=prev, next=nxt, widgets=widget_scripts(nb, have_js))
    prefixes = [cfg["doc_host"].rstrip("/") + cfg["doc_baseurl"].rstrip("/") + "/", cfg["doc_host"].rstrip("/") + "/"]
    return fix_links(math.restore(out), prefixes, {p["nb_name"]: p["file"] for p in pages})


def load_pages(proc_dir, nbs_dir):
    pages = []
    for section, src in ((t, p) for t, ps in book_sections(nbs_dir) for p in ps):
        nb = nbformat.read(proc_dir / src.name, as_version=4)
        fm, cells = split_frontmatter(nb)
        title = str(fm.get("title") or src.stem)
        pages.append(dict(nb=nb, fm=fm, cells=cells, title=title, nb_name=src.name, file=page_name(src, fm),
                          section=section))
    return pages


def copy_resources(proc_dir, out):
    "Everything of _proc/ that is not a notebook or a Quarto config (styles.css, assets/, …)."
    for f in proc_dir.rglob("*"):
        rel = f.relative_to(proc_dir)
        if f.is_dir() or f.suffix in (".ipynb", ".yml") or rel.parts[0].startswith("."): continue
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, out / rel)


def build(out=ROOT / "_docs", proc=True):
    cfg = settings()
    nbs_dir = ROOT / cfg.get("nbs_path", "nbs")
    if proc:
        from nbdev.serve import proc_nbs
        proc_dir = Path(proc_nbs(path=str(nbs_dir)))
    else: proc_dir = ROOT / "_proc"
    shutil.rmtree(out, ignore_errors=True)
    (out / "_static").mkdir(parents=True)
    copy_resources(proc_dir, out)
    shutil.copy2(ROOT / "tools" / "docs_site.css", out / "_static" / "site.css")
    (out / "_static" / "pygments.css").write_text(HtmlFormatter().get_style_defs(".highlight"))
    have_js = install_widget_js(out / "_static")
    exporter = HTMLExporter(template_name="basic", exclude_anchor_links=False)
    pages = load_pages(proc_dir, nbs_dir)
    for i, page in enumerate(pages):
        (out / page["file"]).write_text(render_page(page, pages, i, exporter, cfg, have_js))
    (out / ".nojekyll").touch()
    manifest = dict(pages=[dict(file=p["file"], notebook=p["nb_name"], title=p["title"]) for p in pages],
                    widgets=have_js, warnings=WARNINGS)
    (out / "_manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"{len(pages)} pages in {out} ({len(WARNINGS)} warnings)")
    return manifest


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "_docs"))
    ap.add_argument("--no-proc", action="store_true", help="reuse _proc/ as it is (no nbdev pre-processing)")
    a = ap.parse_args()
    build(Path(a.out), proc=not a.no_proc)
