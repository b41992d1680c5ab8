"""Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto, which these machines cannot install).

Markdown cells are copied (image links to nbs/assets/ made relative to the root), visible code cells become fenced Python with their text output; cells marked `#| hide`
and images are left out. Run by `make readme` and checked by the sync step of tools/run_tests.py."""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def render(nb_path=ROOT / "nbs" / "index.ipynb"):
    nb = json.loads(Path(nb_path).read_text())
    out = []
    for c in nb["cells"]:
        src = "".join(c["source"]).strip()
        if c["cell_type"] == "markdown": out.append(src.replace("](assets/", "](nbs/assets/"))   # images from the root
        elif c["cell_type"] == "code" and not any(l.strip() in ("#| hide", "#|hide") for l in src.splitlines()):
            out.append(f"```python\n{src}\n```")
            txt = [("".join(o["text"]) if o["output_type"] == "stream" else "".join(o.get("data", {}).get("text/plain", "")))
                   for o in c.get("outputs", [])]
            txt = "\n".join(t for t in txt if t).strip()
            if txt: out.append(f"```\n{txt}\n```")
    return "<!-- generated from nbs/index.ipynb by tools/make_readme.py; edit the notebook -->\n\n" + "\n\n".join(out) + "\n"

if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if (ROOT / "README.md").read_text() == text else "README.md is stale: run python tools/make_readme.py")
    (ROOT / "README.md").write_text(text)
