"""The audit report renders in headless Chromium: every figure decodes, tables are there, sorting works.

A probe script (added to a copy of the page by this test, not by the product) records after load what the browser
actually rendered into a <pre id="probe"> element; `--dump-dom` prints the DOM after scripts ran.
Needs Debian's `chromium` (apt-get install -y chromium); skipped with that reason when it is absent.
"""

from __future__ import annotations

import html as htmllib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("rundir_factory", Path(__file__).parents[1] / "rundir_factory.py")
rundir_factory = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("rundir_factory", rundir_factory)
_spec.loader.exec_module(rundir_factory)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)")

PROBE = """
<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.map.call(document.images, function (im) {
    return {fig: im.parentElement.getAttribute("data-figure"), ok: im.complete && im.naturalWidth > 0,
            w: im.naturalWidth, shown: im.getBoundingClientRect().width};
  });
  var tables = Array.prototype.map.call(document.querySelectorAll("table.sortable"), function (t) {
    return {name: t.getAttribute("data-name"), rows: t.tBodies[0].rows.length,
            visible: t.getBoundingClientRect().height > 0};
  });
  // click the "samples" header of the overall table twice and read the teacher order back
  var t = document.querySelector('table[data-name="ranking"]');
  var th = t.querySelectorAll("thead th")[2];  // pass rate
  th.click();
  var asc = Array.prototype.map.call(t.tBodies[0].rows, function (r) { return parseFloat(r.cells[2].dataset.sort); });
  th.click();
  var desc = Array.prototype.map.call(t.tBodies[0].rows, function (r) { return parseFloat(r.cells[2].dataset.sort); });
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify({imgs: imgs, tables: tables, asc: asc, desc: desc,
                                    title: document.title, width: document.body.scrollWidth});
  document.body.appendChild(pre);
});
</script>
"""


def _chromium(args: list[str], tmp_path: Path) -> str:
    profile = tmp_path / "profile"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1280,2000",
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_report_renders_in_chromium(tmp_path):
    from curation.audit import AuditOptions, run_audit

    store = rundir_factory.build_run(tmp_path / "run")
    res = run_audit(store.root, tmp_path / "out", AuditOptions(embeddings=False))
    page = (tmp_path / "out" / "report.html").read_text()
    probe_page = tmp_path / "out" / "probe.html"
    probe_page.write_text(page.replace("</body>", PROBE + "</body>"))

    dom = _chromium(["--virtual-time-budget=10000", "--dump-dom", probe_page.as_uri()], tmp_path)
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL)
    assert m, "probe did not run (page scripts failed?)"
    probe = json.loads(htmllib.unescape(m.group(1)))

    assert probe["title"].startswith("Teacher audit")
    figs = {i["fig"]: i for i in probe["imgs"]}
    expected = {Path(f).stem for f in res["figures"]}
    assert set(figs) == expected and len(expected) >= 7
    for name, i in figs.items():
        assert i["ok"] and i["w"] > 300 and i["shown"] > 300, (name, i)
    tables = {t["name"]: t for t in probe["tables"]}
    for name in (
        "ranking",
        "overall",
        "by_difficulty",
        "by_source",
        "lengths",
        "vs_correct",
        "adaptive",
        "structure",
        "distinct",
        "agreement",
    ):
        assert name in tables and tables[name]["rows"] > 0 and tables[name]["visible"], name
    assert tables["ranking"]["rows"] == 5 and tables["agreement"]["rows"] == 10
    assert probe["asc"] == sorted(probe["asc"]) and probe["desc"] == sorted(probe["desc"], reverse=True)
    assert probe["width"] <= 1280, "page overflows horizontally"


def test_report_screenshot(tmp_path):
    """A screenshot is written and is not blank (the page paints)."""
    from PIL import Image

    from curation.audit import AuditOptions, run_audit

    store = rundir_factory.build_run(tmp_path / "run", segments=False, select=False)
    run_audit(store.root, tmp_path / "out", AuditOptions(embeddings=False))
    shot = tmp_path / "shot.png"
    _chromium([f"--screenshot={shot}", "--hide-scrollbars", (tmp_path / "out" / "report.html").as_uri()], tmp_path)
    im = Image.open(shot).convert("RGB")
    assert im.size == (1280, 2000)
    colors = im.getcolors(maxcolors=1 << 20)
    assert colors is None or len(colors) > 50  # header gradient, text, figures: far from a blank page
