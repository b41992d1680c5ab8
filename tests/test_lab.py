"""The book live (`make lab`): JupyterLab driven in headless Chromium the way a reader uses the widgets.

One JupyterLab server per module, on a random free port of 127.0.0.1 with a token, in a temporary folder holding
copies of 04_synthesis and 08_sync (the repository's notebooks are never opened, so never saved), with its own
settings (no autosave, no news or update checks, all cells attached to the page, the default kernel started) and
its own Jupyter/IPython directories. Each test opens its notebook in a fresh browser and a workspace of its own,
clicks the widget cell, runs "Run All Above Selected Cell" from the command palette, then the cell itself
(Ctrl+Enter), and once the sliders are drawn moves them from the keyboard (focused noUiSlider handle, arrow key) as a
reader does; after each move the image in the widget's output must change. Screenshots go to test-results/lab/.
The server and its kernels are shut down (and, if need be, killed) whatever the outcome. Without Chromium,
chromedriver, Selenium or JupyterLab every test is skipped, not passed."""
import hashlib, json, os, re, secrets, shutil, signal, socket, subprocess, sys, tempfile, time
import urllib.error, urllib.request
from pathlib import Path

import pytest
from browser import need_browser, headless_chrome

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
RESULTS = ROOT / "test-results" / "lab"
NOTEBOOKS = ["04_synthesis.ipynb", "08_sync.ipynb"]
START_S = 120     # the server answering
LOAD_S = 120      # the notebook shown with all its cells and an idle kernel
RUN_S = 420       # every cell above the widget cell and the widget cell itself executed (04: ~25 s when idle)
UPDATE_S = 120    # a slider moved → a new image in the widget's output

# The user settings of the test's JupyterLab (the reader's own ~/.jupyter/lab settings are not read).
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "autoStartDefaultKernel": True},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"checkForUpdates": False, "fetchNews": "false"},
}


def die_with_parent():
    "In the child: SIGTERM when pytest dies without its finalizers (Linux), so the server still shuts its kernels down."
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)      # PR_SET_PDEATHSIG
    except (OSError, AttributeError): pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid):
    "Pids of every process below `pid` (kernels run in sessions of their own, so not in the server's group)."
    parent = {}
    for p in (Path("/proc").iterdir() if Path("/proc").is_dir() else ()):
        if not p.name.isdigit(): continue
        try: parent[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError): pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids; todo += kids
    return out


def alive(pid):
    "Whether `pid` still runs (a zombie nobody reaps counts as gone)."
    try: return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError): return False


class Lab:
    "A JupyterLab server in `root` (a temporary folder), answering on `url` with `token`."
    def __init__(self, root):
        self.root, self.token, self.proc = Path(root), secrets.token_hex(16), None
        self.log = self.root / "jupyter.log"

    def start(self):
        work = self.root / "nbs"; work.mkdir()
        for nb in NOTEBOOKS: shutil.copy2(NBS / nb, work / nb)
        settings = self.root / "settings"
        for name, values in SETTINGS.items():
            f = settings / f"{name}.jupyterlab-settings"; f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(values))
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(self.root / "config"), "JUPYTER_RUNTIME_DIR": str(self.root / "rt"),
               "JUPYTER_DATA_DIR": str(self.root / "data"), "IPYTHONDIR": str(self.root / "ipython"), "PYTHONUNBUFFERED": "1"}
        env.pop("MPLBACKEND", None)                 # a headless MPLBACKEND=Agg would keep plt.show() from drawing inline
        for _ in range(3):                          # a port taken between free_port() and the bind: another one
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.open_browser=False",
                   "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={work}",
                   "--ServerApp.terminals_enabled=False", f"--LabApp.user_settings_dir={settings}",
                   f"--LabApp.workspaces_dir={self.root / 'workspaces'}",
                   "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
                   "--ServerApp.allow_root=True"]         # CI containers run as root
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True,
                                             preexec_fn=die_with_parent if sys.platform == "linux" else None)
            if self.wait_up(): return
            self.stop()
        pytest.fail("JupyterLab did not start:\n" + self.log.read_text()[-5000:])

    def api(self, path, method="GET"):
        req = urllib.request.Request(f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r: return r.status, r.read()

    def wait_up(self):
        t0 = time.monotonic()
        while time.monotonic() - t0 < START_S:
            if self.proc.poll() is not None: return False
            try:
                if self.api("/api/status")[0] == 200: return True
            except (urllib.error.URLError, OSError): pass
            time.sleep(0.5)
        return False

    def stop(self):
        "Shut the server and its kernels down: politely (REST), then SIGTERM, then SIGKILL of whatever it started."
        if self.proc is None: return
        pids = descendants(self.proc.pid)
        if self.proc.poll() is None:
            try: self.api("/api/shutdown", "POST")
            except (urllib.error.URLError, OSError): pass
            try: self.proc.wait(30)
            except subprocess.TimeoutExpired:
                try: os.killpg(self.proc.pid, signal.SIGTERM)
                except ProcessLookupError: pass
                try: self.proc.wait(15)
                except subprocess.TimeoutExpired:
                    try: os.killpg(self.proc.pid, signal.SIGKILL)
                    except ProcessLookupError: pass
                    self.proc.wait(15)
        t0 = time.monotonic()
        while any(alive(p) for p in pids) and time.monotonic() - t0 < 15: time.sleep(0.3)
        for p in pids:
            if alive(p):
                try: os.kill(p, signal.SIGKILL)
                except ProcessLookupError: pass
        self.proc = None


@pytest.fixture(scope="module")
def lab():
    need_browser()
    pytest.importorskip("jupyterlab")
    root = tempfile.mkdtemp(prefix="deblur-lab-")
    server = Lab(root)
    try:
        server.start()
        yield server
    finally:
        try: server.stop()
        finally:
            RESULTS.mkdir(parents=True, exist_ok=True)
            if server.log.exists(): shutil.copy2(server.log, RESULTS / "jupyter.log")
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def browser(lab):
    d = headless_chrome("--window-size=1400,1100", "--no-first-run", "--no-default-browser-check",
                        "--disable-extensions", "--disable-background-networking")
    yield d
    d.quit()


# --- the page, seen from the browser -------------------------------------------------------------------------------

CELL_JS = """
const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')];
const i = cells.findIndex(c => (c.querySelector('.jp-InputArea-editor') || {textContent: ''}).textContent.includes(arguments[0]));
return i;
"""

# The state of the widget cell `arguments[0]`: its prompt, its sliders (label, readout) and the image of its output.
WIDGET_JS = """
const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')];
const c = cells[arguments[0]];
if (!c) return null;
const prompt = (c.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim();
const sliders = [...c.querySelectorAll('.jp-OutputArea .widget-slider')].map(s => ({
  label: (s.querySelector('.widget-label') || {textContent: ''}).textContent.trim(),
  readout: (s.querySelector('.widget-readout') || {textContent: ''}).textContent.trim(),
  handle: !!s.querySelector('.noUi-handle')}));
const imgs = [...c.querySelectorAll('.jp-OutputArea .widget-output img')].filter(i => i.complete && i.naturalWidth > 0);
return {prompt, sliders, img: imgs.length ? imgs[imgs.length - 1].src : null, n_img: imgs.length};
"""

PROMPTS_JS = """
return [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')]
  .map(c => !c.classList.contains('jp-CodeCell') ? null          // markdown, and empty code cells (never executed)
       : !(c.querySelector('.jp-InputArea-editor') || {textContent: ''}).textContent.trim() ? null
       : (c.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim());
"""

ERRORS_JS = """
return [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')]
  .map(o => o.textContent).filter(t => /Traceback|Error:/.test(t)).map(t => t.slice(0, 2000));
"""


def wait(browser, what, timeout, cond, poll=0.5):
    "Poll `cond(browser)` until it is truthy (then return it), failing with `what` and the page's errors otherwise."
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait
    try: return WebDriverWait(browser, timeout, poll_frequency=poll, ignored_exceptions=(WebDriverException,)).until(cond)
    except TimeoutException:
        shot(browser, "timeout")
        try: errors = browser.execute_script(ERRORS_JS)
        except WebDriverException: errors = []
        pytest.fail(f"timed out after {timeout} s waiting for {what}" + "".join(f"\n--- output:\n{e}" for e in errors))


_shots = {"name": "lab"}


def shot(browser, label):
    RESULTS.mkdir(parents=True, exist_ok=True)
    from selenium.common.exceptions import WebDriverException
    try: browser.save_screenshot(str(RESULTS / f"{_shots['name']}-{label}.png"))
    except WebDriverException: pass      # a screenshot is a help, never the reason a test fails


def digest(src): return hashlib.sha256(src.encode()).hexdigest()[:12] if src else None


def open_notebook(browser, lab, nb, marker):
    "Open `nb` in a workspace of its own; wait for its cells and an idle kernel; return the index of the `marker` cell."
    from selenium.webdriver.common.by import By
    _shots["name"] = Path(nb).stem
    browser.get(f"{lab.url}/lab/workspaces/{Path(nb).stem}/tree/{nb}?reset&token={lab.token}")
    n_cells = len(json.loads((NBS / nb).read_text())["cells"])
    wait(browser, f"the {n_cells} cells of {nb}", LOAD_S,
         lambda d: len(d.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")) >= n_cells)
    wait(browser, "an idle kernel", LOAD_S, lambda d: d.execute_script(
        "const s = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');"
        "return s && s.getAttribute('data-status') === 'idle'"))
    i = browser.execute_script(CELL_JS, marker)
    assert i >= 0, f"{nb}: no cell containing {marker!r}"
    return i


def palette(browser, label):
    "Run the command `label` from the command palette (Ctrl+Shift+C), clicking the item of exactly that label."
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    ActionChains(browser).key_down(Keys.CONTROL).key_down(Keys.SHIFT).send_keys("c").key_up(Keys.SHIFT).key_up(Keys.CONTROL).perform()
    box = wait(browser, "the command palette", 30, lambda d: next(
        (e for e in d.find_elements(By.CSS_SELECTOR, ".lm-CommandPalette-input") if e.is_displayed()), None))
    box.send_keys(label)
    item = wait(browser, f"the palette item {label!r}", 30, lambda d: next(
        (e for e in d.find_elements(By.CSS_SELECTOR, ".lm-CommandPalette-item")
         if e.is_displayed() and e.find_element(By.CSS_SELECTOR, ".lm-CommandPalette-itemLabel").text.strip() == label), None))
    item.click()


def run_widget_cell(browser, i, n_sliders):
    "Select cell `i`, run every cell above it and then it, as a reader does; wait until its sliders and image show."
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    cell = browser.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")[i]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", cell)
    cell.find_element(By.CSS_SELECTOR, ".jp-InputPrompt").click()        # select it (command mode)
    wait(browser, "the widget cell selected", 30, lambda d: "jp-mod-selected" in cell.get_attribute("class"))
    palette(browser, "Run All Above Selected Cell")
    wait(browser, "the widget cell still selected", 30, lambda d: "jp-mod-selected" in cell.get_attribute("class"))
    ActionChains(browser).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()   # run it
    def done(d):
        "Every code cell up to `i` numbered, each once (a fresh kernel), the widget cell last."
        prompts = [p for p in d.execute_script(PROMPTS_JS)[:i + 1] if p is not None]
        if not all(re.fullmatch(r"\[\d+\]:", p) for p in prompts): return False
        n = [int(p[1:-2]) for p in prompts]
        return len(set(n)) == len(n) and n[-1] == max(n)
    wait(browser, "every cell up to the widget cell executed", RUN_S, done, poll=1)
    def drawn(d):
        s = d.execute_script(WIDGET_JS, i)
        return s if s and len(s["sliders"]) >= n_sliders and all(x["handle"] for x in s["sliders"]) and s["img"] else None
    state = wait(browser, f"{n_sliders} sliders and an image in the widget", UPDATE_S, drawn)
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", cell.find_element(By.CSS_SELECTOR, ".jp-OutputArea"))
    shot(browser, "0-ran")
    return state


def move(browser, i, label, key_presses=1):
    "Focus the handle of the slider `label` in cell `i`, press → `key_presses` times; return the new readout and image."
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    before = browser.execute_script(WIDGET_JS, i)
    cell = browser.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")[i]
    slider = next(s for s in cell.find_elements(By.CSS_SELECTOR, ".jp-OutputArea .widget-slider")
                  if s.find_element(By.CSS_SELECTOR, ".widget-label").text.strip() == label)
    handle = slider.find_element(By.CSS_SELECTOR, ".noUi-handle")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus()", handle)
    wait(browser, f"the {label!r} handle focused", 30, lambda d: d.execute_script("return document.activeElement === arguments[0]", handle))
    for _ in range(key_presses): handle.send_keys(Keys.ARROW_RIGHT)
    old = readouts(before)[label]
    def redrawn(d):
        s = d.execute_script(WIDGET_JS, i)
        return s if s and s["img"] and s["img"] != before["img"] and readouts(s).get(label) != old else None
    after = wait(browser, f"{label!r}: the readout to leave {old!r} and a new image", UPDATE_S, redrawn)
    return before, after


def readouts(state): return {x["label"]: x["readout"] for x in state["sliders"]}


# --- the tests -----------------------------------------------------------------------------------------------------

def test_synthesis_sliders(lab, browser):
    "04_synthesis: run the notebook down to its `interact` cell; exposure and translation each redraw the blur."
    i = open_notebook(browser, lab, "04_synthesis.ipynb", "widgets.interact(_draw")
    state = run_widget_cell(browser, i, 4)
    assert {"exposure ms", "translation ×", "rotation ×", "depth ×"} <= set(readouts(state)), readouts(state)
    seen = {digest(state["img"])}
    for n, (label, expect) in enumerate([("exposure ms", "45"), ("translation ×", "1.50")], 1):
        before, after = move(browser, i, label)
        shot(browser, f"{n}-{label.split()[0]}")
        assert readouts(after)[label] == expect, (label, readouts(before), readouts(after))
        assert digest(after["img"]) not in seen, f"{label}: the image did not change"
        seen.add(digest(after["img"]))
        others = {k: v for k, v in readouts(after).items() if k != label}
        assert others == {k: v for k, v in readouts(before).items() if k != label}, "another slider moved"


def test_sync_frame_browser(lab, browser):
    "08_sync: run the notebook down to its `clock_browser` cell; stepping the clock frame shows another frame."
    i = open_notebook(browser, lab, "08_sync.ipynb", "browser = clock_browser(")
    state = run_widget_cell(browser, i, 1)
    assert readouts(state) == {"clock frame": "0"}, readouts(state)
    seen = {digest(state["img"])}
    for n in (1, 2):
        _, after = move(browser, i, "clock frame")
        shot(browser, f"{n}-frame")
        assert readouts(after)["clock frame"] == str(n), readouts(after)
        assert digest(after["img"]) not in seen, f"frame {n}: the image did not change"
        seen.add(digest(after["img"]))
