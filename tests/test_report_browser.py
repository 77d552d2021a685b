"""The demo's HTML report, opened in a real browser (headless Chromium): no console message, every figure shown.

The report itself has no script. The test copies it and appends a small probe script that, on ``load``, writes
the state of every ``<img>`` (complete, natural size) into the DOM; ``--dump-dom`` returns that DOM and
``--enable-logging=stderr`` prints every console message (uncaught errors included) to stderr. A screenshot of
the page must not be blank. Skipped only where no Chromium is installed, and a failure under CI (``CI=true``).
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]
PROBE_MESSAGE = "reconad-probe: loaded"
PROBE = """<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var shown = function (i) { return i.complete && i.naturalWidth > 0 && i.naturalHeight > 0; };
  var out = document.createElement("pre");
  out.id = "reconad-probe";
  out.textContent = JSON.stringify({
    images: images.length,
    broken: images.filter(function (i) { return !shown(i); }).map(function (i) { return i.alt; }),
    sizes: images.map(function (i) { return [i.naturalWidth, i.naturalHeight]; })
  });
  document.body.appendChild(out);
  console.log("PROBE_MESSAGE");
});
</script>""".replace("PROBE_MESSAGE", PROBE_MESSAGE)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    message = "no Chromium binary found (apt-get install chromium); the report cannot be checked in a browser"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def open_in_browser(report: Path, work: Path) -> tuple[dict, list[str], Path]:
    """Load a copy of ``report`` with the probe: (image state, console messages other than the probe's, screenshot)."""
    binary = chromium()
    probe = work / "probe.html"
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    url = probe.resolve().as_uri()
    common = [binary, *FLAGS, "--enable-logging=stderr", "--v=0"]
    dump = subprocess.run([*common, f"--user-data-dir={work / 'profile-dom'}", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    assert dump.returncode == 0, dump.stderr[-2000:]
    found = re.search(r'<pre id="reconad-probe">(.*?)</pre>', dump.stdout, re.S)
    assert found, "the probe never ran: the page did not finish loading\n" + dump.stderr[-2000:]
    state = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    console = [line for line in dump.stderr.splitlines() if ":CONSOLE" in line]
    assert any(PROBE_MESSAGE in line for line in console), "console capture does not work:\n" + dump.stderr[-2000:]
    errors = [line for line in console if PROBE_MESSAGE not in line]
    shot = work / "screenshot.png"
    taken = subprocess.run([binary, *FLAGS, f"--user-data-dir={work / 'profile-shot'}", "--window-size=1280,2400",
                            f"--screenshot={shot}", report.resolve().as_uri()],
                           capture_output=True, text=True, timeout=120)
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    return state, errors, shot


def assert_not_blank(png: Path, min_height: int = 1000, min_width: int = 1200) -> None:
    from PIL import Image

    with Image.open(png) as picture:
        pixels = np.asarray(picture.convert("RGB"), dtype=np.float64)
    assert pixels.shape[0] > min_height and pixels.shape[1] >= min_width, pixels.shape
    assert pixels.std() > 10, "the screenshot is blank"
    colours = np.unique(pixels.reshape(-1, 3)[:: 37], axis=0)
    assert len(colours) > 100, f"the screenshot has only {len(colours)} colours: figures are not drawn"


def test_demo_report_in_a_real_browser(tmp_path_factory, tmp_path):
    from test_cli import run_demo_once  # the one `reconad demo --quick` run that test_cli's demo test uses

    chromium()  # skip (or fail under CI) before the long demo run when there is no browser
    folder, run = run_demo_once(tmp_path_factory)
    assert run.returncode == 0, run.stderr
    report = folder / "report.html"
    html = report.read_text(encoding="utf-8")
    assert "<script" not in html.lower()  # the report needs no JavaScript
    state, errors, shot = open_in_browser(report, tmp_path)
    assert errors == [], "console messages while loading the report:\n" + "\n".join(errors)
    assert state["images"] == html.count("<img ") >= 6, state  # data, history, 4 score figures (+ images)
    assert state["broken"] == [], f"figures not displayed: {state['broken']}"
    assert all(w > 100 and h > 100 for w, h in state["sizes"]), state["sizes"]
    assert_not_blank(shot)


def test_the_browser_check_catches_broken_figures_and_script_errors(tmp_path):
    """The checker itself: a broken image and a script error in a page must be reported."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><body><h1>x</h1><img src="data:image/png;base64,AAAA" alt="bad">'
                    "<script>noSuchFunction();</script></body></html>")
    state, errors, _ = open_in_browser(page, tmp_path)
    assert state["broken"] == ["bad"]
    assert any("noSuchFunction" in line for line in errors), errors
