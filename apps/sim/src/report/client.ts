/**
 * The report's own script (plain browser JavaScript, inlined after ECharts): reads the JSON data
 * element, draws the memory map into an ImageData once, wires the hover, and builds the charts.
 * Every string it shows goes through `textContent` or ECharts (which escapes its tooltips).
 *
 * @module
 */

/** The browser script, ES2017, no template literals. */
export const CLIENT_JS: string = String.raw`(function () {
"use strict";
var data = JSON.parse(document.getElementById("report-data").textContent);
var charts = [];
window.__report = { ready: false, charts: charts };

function $(id) { return document.getElementById(id); }
function num(n) { return Number(n).toLocaleString("en-US"); }
function hex(n) { return "0x" + Number(n).toString(16); }

function chart(id, option) {
  var el = $(id);
  if (!el) return null;
  var c = echarts.init(el, null, { renderer: "canvas" });
  option.animation = false;
  if (!option.grid) option.grid = { left: 64, right: 24, top: 48, bottom: 48, containLabel: false };
  c.setOption(option);
  charts.push(c);
  return c;
}
window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

function timeAxis() {
  return { type: "value", name: "simulated time (s)", nameLocation: "middle", nameGap: 28, scale: true };
}
function legendTop() { return { type: "scroll", top: 0 }; }

function decodeRle(b64, length) {
  var bin = atob(b64);
  var out = new Uint8Array(length);
  out.fill(255);
  var p = 0, i = 0;
  while (i < bin.length) {
    var b = bin.charCodeAt(i++);
    var n = 0, mul = 1;
    for (;;) {
      var c = bin.charCodeAt(i++);
      n += (c % 128) * mul;
      if (c < 128) break;
      mul *= 128;
    }
    out.fill(b, p, p + n);
    p += n;
  }
  return out;
}

function rgba(hexColor) {
  var v = parseInt(hexColor.slice(1), 16);
  var r = Math.floor(v / 65536) % 256, g = Math.floor(v / 256) % 256, b = v % 256;
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

function drawMap(map) {
  var canvas = $("pagemap");
  if (!canvas || !map) return;
  var W = map.width, H = map.height;
  var px = decodeRle(map.rle, W * H);
  var palette = new Uint32Array(256);
  for (var s = 0; s < map.colors.length; s++) palette[s] = rgba(map.colors[s]);
  var native = document.createElement("canvas");
  native.width = W;
  native.height = H;
  var nctx = native.getContext("2d");
  var img = nctx.createImageData(W, H);
  var words = new Uint32Array(img.data.buffer);
  for (var i = 0; i < px.length; i++) words[i] = palette[px[i]];
  nctx.putImageData(img, 0, 0);
  var scale = Math.max(1, Math.min(Math.floor(1024 / W), Math.floor(1536 / H) || 1));
  var G = 112;
  canvas.width = G + W * scale;
  canvas.height = H * scale;
  var ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(native, G, 0, W * scale, H * scale);

  function xy(p) { return [p % W, Math.floor(p / W)]; }
  function boundary(p, color, width, dash) {
    var a = xy(p), x = G + a[0] * scale, y = a[1] * scale, S = scale;
    ctx.save();
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.setLineDash(dash);
    ctx.beginPath();
    ctx.moveTo(G + W * S, y);
    ctx.lineTo(x, y);
    ctx.lineTo(x, y + S);
    if (x > G) ctx.lineTo(G, y + S);
    ctx.stroke();
    ctx.restore();
  }
  var nextY = 0;
  function gutter(p, lines) {
    var row = Math.floor(p / W) * scale;
    var y = Math.max(row, nextY);
    ctx.save();
    ctx.strokeStyle = "#9ca3af";
    ctx.beginPath();
    ctx.moveTo(G - 14, y + 7);
    ctx.lineTo(G - 4, y + 7);
    ctx.lineTo(G, row + 0.5);
    ctx.stroke();
    lines.forEach(function (l, i) {
      ctx.font = (l.bold ? "bold " : "") + "11px system-ui, sans-serif";
      ctx.fillStyle = l.color || "#111827";
      ctx.fillText(l.text, 2, y + 11 + i * 13, G - 18);
    });
    ctx.restore();
    nextY = y + lines.length * 13 + 3;
  }
  var marks = [];
  var nodesSeen = {};
  map.zones.forEach(function (z) {
    if (z.pixel < 0) return;
    var first = !nodesSeen[z.nid];
    nodesSeen[z.nid] = true;
    marks.push({ p: z.pixel, first: first, lines: (first ? [{ text: "node " + z.nid, bold: true }] : []).concat([{ text: z.name + " " + hex(z.startPfn), color: "#374151" }]) });
  });
  map.segments.forEach(function (seg) {
    if (seg.gap) marks.push({ p: seg.pixel, gap: true, lines: [{ text: "hole (not to scale)", color: "#6b7280" }, { text: hex(seg.startPfn) + "-" + hex(seg.endPfn - 1), color: "#6b7280" }] });
  });
  marks.sort(function (a, b) { return a.p - b.p; });
  marks.forEach(function (m) {
    if (!m.gap && (m.p > 0 || m.first)) boundary(m.p, m.first ? "#000000" : "#111827", m.first ? 3 : 1.5, m.first ? [] : [5, 3]);
    gutter(m.p, m.lines);
  });

  var tip = $("map-tip");
  function at(ev) {
    var r = canvas.getBoundingClientRect();
    var cx = Math.floor((((ev.clientX - r.left) * canvas.width) / r.width - G) / scale);
    var cy = Math.floor(((ev.clientY - r.top) * canvas.height) / r.height / scale);
    if (cx < 0 || cy < 0 || cx >= W || cy >= H) return null;
    var p = cy * W + cx;
    for (var k = 0; k < map.segments.length; k++) {
      var seg = map.segments[k];
      if (p >= seg.pixel && p < seg.pixel + seg.pixels) {
        if (seg.gap) return { from: seg.startPfn, to: seg.endPfn, state: "hole", gap: true };
        var from = seg.startPfn + (p - seg.pixel) * map.pagesPerPixel;
        var to = Math.min(seg.endPfn, from + map.pagesPerPixel);
        var st = px[p];
        return { from: from, to: to, state: map.legend[st] || "none", gap: false };
      }
    }
    return null;
  }
  canvas.addEventListener("mousemove", function (ev) {
    var h = at(ev);
    if (!h) { tip.textContent = "Hover over the map for a page's pfn and state."; return; }
    var zone = map.zones.filter(function (z) { return h.from >= z.startPfn && h.from < z.endPfn; })[0];
    var where = zone ? " \u00b7 " + zone.label : "";
    if (h.gap) tip.textContent = "pfn " + hex(h.from) + "-" + hex(h.to - 1) + ": hole (" + num(h.to - h.from) + " pages, not to scale)";
    else if (h.to - h.from <= 1) tip.textContent = "pfn " + hex(h.from) + " (" + h.from + "): " + h.state + where;
    else tip.textContent = "pfns " + hex(h.from) + "-" + hex(h.to - 1) + " (" + (h.to - h.from) + " pages, mostly " + h.state + ")" + where;
  });
}

function runCharts(r) {
  var S = r.series, samples = S.samples;
  var t = samples.map(function (s) { return s.t / 1e6; });
  chart("chart-free", {
    title: { text: "Free pages per zone", left: "center", top: 24, textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis" },
    legend: legendTop(),
    grid: { left: 72, right: 24, top: 64, bottom: 48 },
    xAxis: timeAxis(),
    yAxis: { type: "value", name: "pages" },
    series: S.zones.map(function (z, k) {
      return { name: z, type: "line", showSymbol: false, data: samples.map(function (s, i) { return [t[i], s.free[k]]; }) };
    })
  });
  var maxOrder = 0;
  samples.forEach(function (s) { s.freeByOrder.forEach(function (z) { maxOrder = Math.max(maxOrder, z.length); }); });
  var orderChart = null;
  function byOrder(zone) {
    var series = [];
    for (var o = 0; o < maxOrder; o++) {
      series.push({
        name: "order " + o, type: "line", showSymbol: false, color: data.orderColors[o] || undefined,
        data: samples.map(function (s, i) {
          var sum = 0;
          s.freeByOrder.forEach(function (z, k) { if (zone < 0 || zone === k) sum += (z[o] || 0) * Math.pow(2, o); });
          return [t[i], sum > 0 ? sum : null];
        })
      });
    }
    return series;
  }
  orderChart = chart("chart-orders", {
    title: { text: "Free pages in blocks of each order (log scale)", left: "center", top: 24, textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis" },
    legend: legendTop(),
    grid: { left: 72, right: 24, top: 64, bottom: 48 },
    xAxis: timeAxis(),
    yAxis: { type: "log", name: "pages", min: 1, logBase: 10 },
    series: byOrder(-1)
  });
  var sel = $("order-zone");
  if (sel && orderChart) sel.addEventListener("change", function () {
    orderChart.setOption({ series: byOrder(Number(sel.value)) });
  });
  function fragSeries(field) {
    var out = [];
    S.zones.forEach(function (z, k) {
      S.fragOrders.forEach(function (o, j) {
        out.push({
          name: z.replace("Node ", "N").replace(", zone ", " ") + " o" + o, type: "line", showSymbol: false,
          data: samples.map(function (s, i) { return [t[i], (s[field][k] ? s[field][k][j] : 0) / 1000]; })
        });
      });
    });
    return out;
  }
  chart("chart-unusable", {
    title: { text: "Unusable free index (0 = every free page usable at that order)", left: "center", top: 24, textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis" }, legend: legendTop(), grid: { left: 56, right: 24, top: 64, bottom: 48 },
    xAxis: timeAxis(), yAxis: { type: "value", min: 0, max: 1 }, series: fragSeries("unusable")
  });
  chart("chart-extfrag", {
    title: { text: "Fragmentation index (-1 = the allocation would succeed)", left: "center", top: 24, textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis" }, legend: legendTop(), grid: { left: 56, right: 24, top: 64, bottom: 48 },
    xAxis: timeAxis(), yAxis: { type: "value", min: -1, max: 1 }, series: fragSeries("extfrag")
  });
  var ladder = r.contig.ladder;
  if (ladder.length > 0) {
    var sizes = [], strategies = [];
    ladder.forEach(function (g) {
      if (sizes.indexOf(g.bytes) < 0) sizes.push(g.bytes);
      if (strategies.indexOf(g.strategy) < 0) strategies.push(g.strategy);
    });
    sizes.sort(function (a, b) { return a - b; });
    chart("chart-ladder", {
      title: { text: "Contiguous allocation success per strategy", left: "center", top: 24, textStyle: { fontSize: 13 } },
      tooltip: { trigger: "axis" }, legend: legendTop(), grid: { left: 56, right: 24, top: 64, bottom: 48 },
      xAxis: { type: "category", name: "buffer size", nameLocation: "middle", nameGap: 28, data: sizes.map(function (b) { return data.sizeLabels[b] || String(b); }) },
      yAxis: { type: "value", name: "success %", min: 0, max: 100 },
      series: strategies.map(function (st) {
        return {
          name: st, type: "bar",
          data: sizes.map(function (b) {
            var g = ladder.filter(function (x) { return x.strategy === st && x.bytes === b; })[0];
            return g ? Math.round((1000 * g.successes) / Math.max(1, g.attempts)) / 10 : 0;
          })
        };
      })
    });
  }
}

function sweepCharts(s) {
  var recs = s.records.filter(function (r) { return !r.error; });
  var strategies = s.strategies;
  chart("chart-sweep-scatter", {
    title: { text: "Contig success rate against fragmentation (unusable index, order " + s.fragOrder + ")", left: "center", top: 24, textStyle: { fontSize: 13 } },
    tooltip: { trigger: "item" }, legend: legendTop(), grid: { left: 56, right: 24, top: 64, bottom: 48 },
    xAxis: { type: "value", name: "unusable free index", nameLocation: "middle", nameGap: 28, scale: true },
    yAxis: { type: "value", name: "success %", min: 0, max: 100 },
    series: strategies.map(function (st) {
      return {
        name: st, type: "scatter", symbolSize: 7,
        data: recs.filter(function (r) { return r.contigSuccess[st] !== undefined; }).map(function (r) {
          return [r.unusable[s.fragOrder] || 0, Math.round(r.contigSuccess[st] * 1000) / 10];
        })
      };
    })
  });
  var groups = s.groups;
  chart("chart-sweep-groups", {
    title: { text: "Mean contig success rate per parameter set", left: "center", top: 24, textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis" }, legend: legendTop(), grid: { left: 56, right: 24, top: 64, bottom: 72 },
    xAxis: { type: "category", data: groups.map(function (g) { return g.label; }), axisLabel: { rotate: groups.length > 6 ? 30 : 0 } },
    yAxis: { type: "value", name: "success %", min: 0, max: 100 },
    series: strategies.map(function (st) {
      return { name: st, type: "bar", data: groups.map(function (g) { return g.contigSuccess[st] === undefined ? 0 : Math.round(g.contigSuccess[st] * 1000) / 10; }) };
    })
  });
}

if (data.kind === "run") {
  drawMap(data.map);
  runCharts(data.run);
} else if (data.kind === "sweep") {
  sweepCharts(data.sweep);
}
window.__report.ready = true;
})();
`;
