/* reconad report: the interactive timeline (uPlot). Reads the JSON of each .rc-timeline block and draws one
   uPlot chart per panel; all panels share the x range (drag, wheel, buttons), the cursor and the bands.
   The charts are exposed as window.reconadCharts (one list per timeline) for tests and the console. */
(function () {
  "use strict";

  function bandDrawer(bands) {
    return function (u) {
      var ctx = u.ctx, box = u.bbox;
      ctx.save();
      ctx.beginPath();
      ctx.rect(box.left, box.top, box.width, box.height);
      ctx.clip();
      bands.forEach(function (band) {
        var top = box.top, height = box.height;
        if (band.where === "upper") { height = box.height / 2; }
        if (band.where === "lower") { top = box.top + box.height / 2; height = box.height / 2; }
        ctx.fillStyle = band.color;
        band.spans.forEach(function (span) {
          var left = u.valToPos(span[0], "x", true), right = u.valToPos(span[1], "x", true);
          if (right < box.left || left > box.left + box.width) { return; }
          ctx.fillRect(Math.min(left, right - 2), top, Math.max(right - left, 2), height);
        });
      });
      ctx.restore();
    };
  }

  function build(root) {
    var data = JSON.parse(root.querySelector("script.rc-data").textContent);
    var x = data.x, first = x[0], last = x[x.length - 1];
    if (last === first) { last = first + 1; }
    var holder = root.querySelector(".rc-charts");
    var charts = [], syncing = false;

    function setRange(min, max) {
      var span = Math.min(max - min, last - first);
      if (!(span > 0)) { return; }
      if (min < first) { min = first; max = first + span; }
      if (max > last) { max = last; min = last - span; }
      charts[0].setScale("x", {min: min, max: max});
    }
    function zoom(factor, at) {
      var s = charts[0].scales.x, centre = at === undefined ? (s.min + s.max) / 2 : at;
      setRange(centre - (centre - s.min) * factor, centre + (s.max - centre) * factor);
    }
    function pan(fraction) {
      var s = charts[0].scales.x, shift = (s.max - s.min) * fraction;
      setRange(s.min + shift, s.max + shift);
    }

    var width = function () { return Math.max(320, holder.clientWidth - 4); };
    var utc = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); };
    var stamp = function (pattern) { return uPlot.fmtDate(pattern); };
    var formats = [[86400 * 28, stamp("{YYYY}-{MM}")], [86400, stamp("{YYYY}-{MM}-{DD}")],
                   [60, stamp("{MM}-{DD} {HH}:{mm}")], [0, stamp("{HH}:{mm}:{ss}")]];
    var dates = function (u, splits, axis, space, step) {  // ISO-like dates, in the file's own clock
      var format = formats.filter(function (f) { return step >= f[0]; })[0][1];
      return splits.map(function (ts) { return format(utc(ts)); });
    };
    var decades = function (u, axis, min, max) {  // one grid line per power of ten (every other beyond 8)
      var low = Math.ceil(Math.log10(min) - 1e-9), high = Math.floor(Math.log10(max) + 1e-9);
      var step = high - low > 8 ? 2 : 1, out = [];
      if (high < low) { return [min, max]; }  // less than a decade: its ends
      for (var e = low; e <= high; e += step) { out.push(Math.pow(10, e)); }
      return out;
    };
    var logLabels = function (u, splits) {
      return splits.map(function (v) {
        return v == null ? "" : (v >= 0.01 && v < 1e5 ? String(+v.toPrecision(3)) : v.toExponential(0));
      });
    };
    data.panels.forEach(function (panel, index) {
      var bottom = index === data.panels.length - 1;
      var series = [{label: data.kind === "time" ? "time" : (data.kind === "rows" ? "row" : "x")}];
      panel.lines.forEach(function (line) {
        series.push({label: line.label, stroke: line.color, width: 1.25, dash: line.dash ? [5, 4] : undefined,
                     points: {show: false}, spanGaps: false});
      });
      var opts = {
        width: width(), height: panel.height, title: panel.title,
        scales: {x: {time: data.kind === "time"}, y: panel.log ? {distr: 3} : {}},
        padding: [8, 30, bottom ? null : 4, 0],  // the same right edge on every panel: the x axes line up
        axes: [data.kind === "time" ? {show: bottom, values: dates, space: 110} : {show: bottom, space: 80},
               panel.log ? {size: 64, splits: decades, values: logLabels} : {size: 64}],
        series: series,
        cursor: {sync: {key: "rc-timeline"}, drag: {x: true, y: false}},
        legend: {live: true},
        hooks: {
          drawClear: [bandDrawer(data.bands)],
          setScale: [function (u, key) {
            if (key !== "x" || syncing) { return; }
            syncing = true;
            charts.forEach(function (other) {
              if (other !== u) { other.setScale("x", {min: u.scales.x.min, max: u.scales.x.max}); }
            });
            syncing = false;
          }]
        }
      };
      if (data.kind === "time") { opts.tzDate = utc; }  // the file's wall-clock time, whatever the reader's zone
      var el = document.createElement("div");
      holder.appendChild(el);
      var u = new uPlot(opts, [x].concat(panel.lines.map(function (l) { return l.values; })), el);
      charts.push(u);
      u.over.addEventListener("wheel", function (e) {
        e.preventDefault();
        var rect = u.over.getBoundingClientRect();
        if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
          pan(0.1 * Math.sign(e.shiftKey ? e.deltaY || e.deltaX : e.deltaX));
        } else {
          zoom(e.deltaY < 0 ? 0.75 : 1 / 0.75, u.posToVal(e.clientX - rect.left, "x"));
        }
      }, {passive: false});
      el.addEventListener("mousedown", function (e) {  // Shift + drag pans (captured before uPlot's selection)
        if (!e.shiftKey || e.button !== 0) { return; }
        e.stopPropagation();
        e.preventDefault();
        var startX = e.clientX, min0 = u.scales.x.min, max0 = u.scales.x.max;
        var perPixel = (max0 - min0) / u.bbox.width * (window.devicePixelRatio || 1);  // bbox: canvas pixels
        function move(ev) {
          var shift = (startX - ev.clientX) * perPixel;
          setRange(min0 + shift, max0 + shift);
        }
        function up() {
          document.removeEventListener("mousemove", move);
          document.removeEventListener("mouseup", up);
        }
        document.addEventListener("mousemove", move);
        document.addEventListener("mouseup", up);
      }, true);
    });
    root.querySelectorAll("button[data-act]").forEach(function (button) {
      button.addEventListener("click", function () {
        var act = button.getAttribute("data-act");
        if (act === "out") { zoom(2); }
        if (act === "left") { pan(-0.5); }
        if (act === "right") { pan(0.5); }
        if (act === "reset") { setRange(first, last); }
      });
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (u) { u.setSize({width: width(), height: u.height}); });
    });
    return charts;
  }

  function start() {
    window.reconadCharts = Array.prototype.map.call(document.querySelectorAll(".rc-timeline"), build);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
