"""The series report's interactive timeline in a real browser (headless Chromium), on a 1,000,000-row series.

The report is built from synthetic arrays (``series_report`` directly: no model is trained). A probe script
appended to a copy of the page zooms the chart the way a user does — a wheel event, then a mouse drag across a
panel, then Shift + wheel to pan — and writes the x range of every panel (read back from the uPlot instances the
page exposes as ``window.reconadCharts``), the resources the page fetched and the shading it drew into the DOM;
``--dump-dom`` returns it. Chromium runs with every host name unresolvable, so a fetch could not succeed anyway,
and the probe lists every resource the page asked for. ``RECONAD_SCREENSHOT=1`` also writes
docs/report-interactive.png.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report_browser import FLAGS, assert_not_blank, chromium

ROWS = 1_000_000
TRAINING = (0, 200_000)
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--virtual-time-budget=8000"]
DOCS_SHOT = Path(__file__).resolve().parents[1] / "docs" / "report-interactive.png"
PROBE = """<script>
window.addEventListener("load", function () {
  var out = {}, charts, u, rect, y;
  var range = function () { return charts.map(function (c) { return [c.scales.x.min, c.scales.x.max]; }); };
  var mouse = function (type, x, target) {
    (target || u.over).dispatchEvent(new MouseEvent(type, {clientX: x, clientY: y, bubbles: true, cancelable: true,
                                                           button: 0, buttons: 1, movementX: 5}));
  };
  var shades = function (c, lefts) {  // mean opacity of 12 px at the top of the plot area, at each fraction
    var box = c.bbox, row = c.ctx.getImageData(box.left, box.top + 3, box.width, 1).data;  // one readback
    return lefts.map(function (left) {  // the canvas is transparent where nothing is drawn
      var at = Math.floor(box.width * left), sum = 0;
      for (var i = at; i < at + 12; i++) { sum += row[4 * i + 3]; }
      return sum / 12;
    });
  };
  var finish = function () {
    out.resources = performance.getEntriesByType("resource").map(function (e) { return e.name; });
    var pre = document.createElement("pre");
    pre.id = "reconad-probe";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  };
  try {
    charts = window.reconadCharts[0];
    u = charts[charts.length - 1];
    rect = u.over.getBoundingClientRect();
    y = rect.top + rect.height / 2;
    out.panels = charts.length;
    out.before = range();
    out.shades = shades(u, [0.05, 0.6]);  // rows 0-199,999 of 1,000,000 (the left fifth) are shaded
    u.over.dispatchEvent(new WheelEvent("wheel", {deltaY: -300, clientX: rect.left + rect.width / 2, clientY: y,
                                                  bubbles: true, cancelable: true}));
  } catch (e) { out.error = String(e); finish(); return; }
  setTimeout(function () {
    out.wheel = range();
    out.rect = [rect.left, rect.width];
    mouse("mousedown", rect.left + rect.width * 0.2);
    setTimeout(function () { mouse("mousemove", rect.left + rect.width * 0.3); }, 30);
    setTimeout(function () { mouse("mousemove", rect.left + rect.width * 0.4); }, 60);
    setTimeout(function () { mouse("mouseup", rect.left + rect.width * 0.4, document); }, 90);
    setTimeout(function () {
      out.drag = range();
      u.over.dispatchEvent(new WheelEvent("wheel", {deltaY: 100, shiftKey: true, clientX: rect.left + 10,
                                                    clientY: y, bubbles: true, cancelable: true}));  // pan right
    }, 250);
    setTimeout(function () { out.pan = range(); finish(); }, 350);
  }, 100);
});
</script>"""
# the docs' screenshot: the timeline section alone, zoomed to the 60 days around the anomaly
SHOT_PROBE = """<style>body > nav, section:not([id*="scores"]), footer, section details, section figure,
section h3, section table, section h3 + p { display: none; }</style><script>
window.addEventListener("load", function () {
  var charts = window.reconadCharts[0];
  charts[0].setScale("x", {min: ZOOM_MIN, max: ZOOM_MAX});
});
</script>"""


def synthetic_series(rows: int = ROWS):
    """Two sensors with a daily cycle, one-minute rows, a level shift in 'pressure' at row 600,000 for 3 hours;
    scores that rise there; a reconstruction that follows the normal cycle."""
    rng = np.random.default_rng(0)
    t = np.arange(rows)
    cycle = np.sin(2 * np.pi * t / 1440)
    x = np.column_stack([cycle + 0.08 * rng.standard_normal(rows), 0.5 * cycle + 0.05 * rng.standard_normal(rows)])
    anomaly = slice(600_000, 600_180)
    x[anomaly, 1] += 1.5
    reconstruction = np.column_stack([cycle, 0.5 * cycle])
    contributions = (x - reconstruction) ** 2
    scores = contributions.sum(axis=1)
    predicted = (scores > 0.5).astype(np.int8)
    labels = np.zeros(rows, dtype=np.int8)
    labels[anomaly] = 1
    time = pd.date_range("2023-01-01", periods=rows, freq="min")
    frame = pd.DataFrame(x, columns=["temperature", "pressure"])
    return frame, scores, predicted, labels, time, reconstruction, contributions


@pytest.fixture(scope="module")
def big_report(tmp_path_factory) -> Path:
    from reconad.report import ModelFacts, SeriesDetail, series_report, write_report

    frame, scores, predicted, _, time, reconstruction, contributions = synthetic_series()
    facts = ModelFacts("SeriesDetector", "dense", threshold=0.5, threshold_source="held-out tail",
                       history=[{"epoch": 1, "train_loss": 0.2}, {"epoch": 2, "train_loss": 0.1}],
                       card={"model": "dense"}, parameters={"window (steps)": 64})
    # no labels: the metrics of a million rows take longer than the rest of the report (they are tested elsewhere)
    html, _ = series_report(frame, scores, predicted, facts=facts, detail=SeriesDetail(0, reconstruction),
                            contributions=contributions, time=time, data_info={"name": "synthetic, 1,000,000 rows"},
                            training=TRAINING, title="reconad report: 1,000,000 rows")
    return write_report(tmp_path_factory.mktemp("big") / "report.html", html)


def run_chromium(page: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([chromium(), *FLAGS, *OFFLINE, "--enable-logging=stderr", "--v=0",
                           f"--user-data-dir={work / 'profile'}", *args, page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_a_million_row_report_is_small_and_names_no_outside_resource(big_report):
    html = big_report.read_text(encoding="utf-8")
    assert big_report.stat().st_size < 15_000_000
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert not re.search(r'(src|href)="(?!data:|#)', html), "a resource outside the file"
    assert re.findall(r"<script[^>]*>", html) == ["<script>", "<script>", '<script type="application/json" '
                                                  'class="rc-data">']  # uPlot, the chart code, the data
    assert "1,000,000 rows drawn as the minimum and maximum of 4,000 buckets of 250 rows" in html
    assert "training rows (0 to 199,999) shaded grey" in html


def test_a_million_row_report_loads_and_zooms_in_a_browser_offline(big_report, tmp_path):
    chromium()
    probe = tmp_path / "probe.html"
    probe.write_text(big_report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dump = run_chromium(probe, tmp_path, "--dump-dom")
    console = [line for line in dump.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], "console messages while loading the report:\n" + "\n".join(console)
    found = re.search(r'<pre id="reconad-probe">(.*?)</pre>', dump.stdout, re.S)
    assert found, "the probe never ran\n" + dump.stderr[-2000:]
    state = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert "error" not in state, state
    assert state["resources"] == [], f"the page fetched {state['resources']}"
    assert state["panels"] == 3  # temperature, pressure, the score
    first, last = pd.Timestamp("2023-01-01").timestamp(), pd.Timestamp("2023-01-01").timestamp() + 60 * (ROWS - 1)
    assert state["before"] == [[first, last]] * 3
    (low, high), = {tuple(r) for r in state["wheel"]}  # every panel follows the zoom
    assert first < low < high < last and high - low == pytest.approx(0.75 * (last - first))
    (drag_low, drag_high), = {tuple(r) for r in state["drag"]}
    width = high - low  # dragged across 20% to 40% of the plot
    assert drag_low == pytest.approx(low + 0.2 * width, abs=0.02 * width)
    assert drag_high == pytest.approx(low + 0.4 * width, abs=0.02 * width)
    (pan_low, pan_high), = {tuple(r) for r in state["pan"]}  # Shift + wheel: a tenth of the view to the right
    assert pan_low == pytest.approx(drag_low + 0.1 * (drag_high - drag_low))
    assert pan_high - pan_low == pytest.approx(drag_high - drag_low)
    training, clear = state["shades"]
    assert training > clear + 20, state  # the training rows are shaded


def test_screenshot_of_the_interactive_report(big_report, tmp_path):
    chromium()
    peak = pd.Timestamp("2023-01-01").timestamp() + 60 * 600_000
    page = tmp_path / "shot.html"
    probe = SHOT_PROBE.replace("ZOOM_MIN", str(peak - 30 * 86400)).replace("ZOOM_MAX", str(peak + 30 * 86400))
    page.write_text(big_report.read_text(encoding="utf-8").replace("</body>", probe + "</body>"), encoding="utf-8")
    shot = tmp_path / "shot.png"
    run_chromium(page, tmp_path, "--window-size=1100,1000", f"--screenshot={shot}")
    assert_not_blank(shot, min_height=600, min_width=1000)
    if os.environ.get("RECONAD_SCREENSHOT"):
        from PIL import Image

        with Image.open(shot) as picture:
            picture.convert("RGB").save(DOCS_SHOT, optimize=True)
        assert DOCS_SHOT.stat().st_size < 300_000
