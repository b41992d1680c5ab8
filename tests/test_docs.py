"""The docs site (`make docs`, tools/build_docs.py) opened page by page in headless Chromium.

The site is built once per session (from the notebooks' saved outputs: nbdev's pre-processing, no execution) into
test-results/docs/site/; every page is loaded once from file:// (offline, as a reader opens it), screenshotted into
test-results/docs/ and checked: no `#|` directives, frontmatter or Quarto syntax on the page; every sidebar link is
a page of the site, and every relative link a file of it; at least as many images as the notebook has image
outputs, all of them decoded; formulas typeset as MathML and no raw `$…$` TeX left in the text; classes shown with
their `class` line, not `(*args, **kwargs)`; the saved slider widgets rendered on 04 and 08; nothing loaded from
the network. Without Chromium, chromedriver or Selenium every test is skipped, not passed."""
import json, re, shutil, subprocess, sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from browser import need_browser, headless_chrome

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
RESULTS = ROOT / "test-results" / "docs"
SITE = RESULTS / "site"
NOTEBOOKS = sorted((p.name for p in NBS.glob("*.ipynb") if not p.name.startswith(("_", "."))),
                   key=lambda n: (n != "index.ipynb", n))
WIDGET_NBS = ["04_synthesis.ipynb", "08_sync.ipynb"]
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
HIDDEN = re.compile(r"^\s*#\|\s*(hide|export|exporti|default_exp)\b|^\s*#\|\s*(include|output):\s*false", re.M)
INLINE_TEX = re.compile(r"(?<![\\$\w])\$(?![\s$])[^$\n]+?(?<![\s\\])\$(?![\w$])")
DISPLAY_TEX = re.compile(r"\$\$.+?\$\$", re.S)
RAW_TEX = re.compile(r"\$(?!\s)[^$\n]+\$|\$\$")   # looser than a formula: also `$a + $` (no MathML for it)
CODE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[ \t]*$|(`+).+?\2", re.M | re.S)
FRONTMATTER_LINE = re.compile(r"^\s*(title|description|output-file|skip_showdoc|skip_exec|categories)\s*:", re.M)
WIDGET_WAIT_S = 90

# Everything one page tells the tests, gathered by one script in the browser.
PAGE_JS = """
const vis = document.body.innerText;
const noCode = el => { const c = el.cloneNode(true); c.querySelectorAll('code, pre, math').forEach(x => x.remove());
                       return c.textContent; };
const imgs = [...document.querySelectorAll('main img')];
return {
  text: vis,
  sidebar: [...document.querySelectorAll('nav.sidebar a')].map(a => a.href),
  sections: [...document.querySelectorAll('nav.sidebar li.section > span')].map(s => s.textContent),
  prevnext: [...document.querySelectorAll('nav.prev-next a')].map(a => a.href),
  links: [...document.querySelectorAll('main a[href]')].map(a => a.href).filter(u => u.startsWith('file:')),
  images: imgs.length + document.querySelectorAll('main .output_svg svg, main .output_subarea > svg').length,
  broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80)),
  paragraphs: [...document.querySelectorAll('main p, main li, main td, main h1, main h2, main h3')].map(noCode),
  math: [...document.querySelectorAll('math')].map(m => m.getBoundingClientRect().width),
  external: [...document.querySelectorAll('script[src], link[href], img[src]')]
              .map(e => e.src || e.href).filter(u => /^(https?:)?\\/\\//.test(u)),
  title: document.title,
};
"""


@pytest.fixture(scope="session")
def site():
    "Build the site once (skipped, with every test, where there is no browser to check it in)."
    need_browser()
    shutil.rmtree(SITE, ignore_errors=True)
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "build_docs.py"), "--out", str(SITE)],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    return json.loads((SITE / "_manifest.json").read_text())


@pytest.fixture(scope="session")
def browser(site):
    d = headless_chrome("--allow-file-access-from-files", "--window-size=1280,1000")
    yield d
    d.quit()


_pages = {}


@pytest.fixture
def page(request, site, browser):
    "The facts of the page of notebook `request.param`, loaded (and screenshotted) once per session."
    nb = request.param
    if nb not in _pages: _pages[nb] = load(browser, site, nb)
    return _pages[nb]


def page_file(site, nb):
    return next(p["file"] for p in site["pages"] if p["notebook"] == nb)


def load(browser, site, nb):
    from selenium.webdriver.support.ui import WebDriverWait
    path = SITE / page_file(site, nb)
    browser.get(path.as_uri())
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")
    facts = dict(file=path.name, widgets=0)
    if nb in WIDGET_NBS and site["widgets"]:
        facts["widgets"] = wait_for_sliders(browser, saved_sliders(nb))
    facts.update(browser.execute_script(PAGE_JS))
    RESULTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(RESULTS / f"{path.stem}.png"))
    if facts["widgets"]: screenshot_widget(browser, RESULTS / f"{path.stem}-widget.png")
    return facts


def screenshot_widget(browser, png):
    from selenium.webdriver.common.by import By
    el = browser.find_elements(By.CSS_SELECTOR, ".output_widget_view")[0]
    browser.execute_script("arguments[0].scrollIntoView()", el)
    el.screenshot(str(png))


def saved_sliders(nb):
    "The slider models in the notebook's saved widget state."
    state = json.loads((NBS / nb).read_text())["metadata"].get("widgets", {})
    models = state.get("application/vnd.jupyter.widget-state+json", {}).get("state", {}).values()
    return sum(m["model_name"].endswith("SliderModel") for m in models)


def wait_for_sliders(browser, expected):
    "The number of slider widgets once the widget manager has rendered `expected` of them (or given up waiting)."
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait
    js = "return document.querySelectorAll('input[type=range], .widget-slider').length"
    try: WebDriverWait(browser, WIDGET_WAIT_S, poll_frequency=0.5).until(lambda d: d.execute_script(js) >= expected)
    except TimeoutException: pass
    return browser.execute_script(js)


def source_cells(nb):
    return json.loads((NBS / nb).read_text())["cells"]


def shown(cell):
    return not HIDDEN.search("".join(cell["source"]))


def image_outputs(nb):
    "Image outputs of the notebook's cells that the docs show (not hidden, exported or `output: false`)."
    return sum(any(t in o.get("data", {}) for t in IMAGE_TYPES)
               for c in source_cells(nb) if c["cell_type"] == "code" and shown(c) for o in c.get("outputs", []))


def formulas(nb):
    "`$…$` / `$$…$$` formulas in the notebook's markdown, outside code."
    md = "\n".join("".join(c["source"]) for c in source_cells(nb) if c["cell_type"] == "markdown")
    md = CODE.sub("", md)
    return DISPLAY_TEX.findall(md) + INLINE_TEX.findall(DISPLAY_TEX.sub("", md))


pages = pytest.mark.parametrize("page", NOTEBOOKS, indirect=True)


@pages
def test_no_directives_or_frontmatter(page):
    text = page["text"]
    assert "#|" not in text, [l for l in text.splitlines() if "#|" in l][:5]
    assert not FRONTMATTER_LINE.search(text), FRONTMATTER_LINE.findall(text)
    for quarto in ("{target=", "code-fold", "code-summary", "output: asis", "::: {"):
        assert quarto not in text, quarto


@pages
def test_classes_show_class_line(page):
    "nbdev's show_doc gives a NamedTuple or an exception the signature `(*args, **kwargs)`; the site shows the class."
    assert not re.search(r"def [A-Z]\w*\(\s*\*args, \*\*kwargs\s*\)", page["text"])


def sidebar_parts():
    "The book's parts as nbs/sidebar.yml lists them: `[(section or None, [notebook names])]`."
    import yaml
    parts = []
    for item in yaml.safe_load((NBS / "sidebar.yml").read_text())["website"]["sidebar"]["contents"]:
        parts.append((None, [item]) if isinstance(item, str) else (item["section"], list(item["contents"])))
    return parts


def test_sidebar_yml_lists_every_notebook_once():
    "No browser needed: every page notebook is in the book's table of contents exactly once, the index first."
    listed = [n for _, ns in sidebar_parts() for n in ns]
    assert listed[0] == "index.ipynb"
    assert len(listed) == len(set(listed)), [n for n in listed if listed.count(n) > 1]
    assert sorted(listed) == sorted(NOTEBOOKS), (set(NOTEBOOKS) - set(listed), set(listed) - set(NOTEBOOKS))
    assert sum(s is not None for s, _ in sidebar_parts()) >= 5, "the book is grouped into parts"


@pages
def test_sidebar_and_links(page, site):
    files = [p["file"] for p in site["pages"]]
    assert len(page["sidebar"]) >= len(NOTEBOOKS)
    for url in page["sidebar"] + page["prevnext"]:
        assert url.startswith("file://"), url
        target = Path(unquote(url[len("file://"):].split("#")[0]))
        assert target.is_file(), url
    assert [Path(u).name for u in page["sidebar"][1:]] == files, "sidebar not in book order"
    assert page["sections"] == [s for s, _ in sidebar_parts() if s is not None], "sidebar without the book's parts"
    assert page["prevnext"], "no previous/next link"
    missing = [u for u in page["links"] if not Path(unquote(u[len("file://"):].split("#")[0])).exists()]
    assert not missing, missing
    assert page["title"].startswith(next(p["title"] for p in site["pages"] if p["file"] == page["file"]))


@pages
def test_images(page, request):
    nb = request.node.callspec.params["page"]
    assert page["images"] >= image_outputs(nb), (page["images"], image_outputs(nb))
    assert not page["broken"], page["broken"]


@pages
def test_math(page, request):
    nb = request.node.callspec.params["page"]
    raw = [p.strip()[:120] for p in page["paragraphs"] if RAW_TEX.search(p)]
    assert not raw, raw
    if formulas(nb):
        assert len(page["math"]) >= len(formulas(nb)), (len(page["math"]), len(formulas(nb)))
        assert all(w > 0 for w in page["math"]), "MathML not laid out"


@pages
def test_offline(page):
    assert not page["external"], page["external"]


@pytest.mark.parametrize("page", WIDGET_NBS, indirect=True)
def test_widgets(page, site, request):
    if not site["widgets"]: pytest.skip("the widget manager could not be fetched from the npm registry")
    nb = request.node.callspec.params["page"]
    assert saved_sliders(nb) > 0, f"{nb} has no saved slider state"
    assert page["widgets"] >= saved_sliders(nb), f"{page['widgets']} of {saved_sliders(nb)} sliders on {page['file']}"
    assert "Loading widget" not in page["text"]
