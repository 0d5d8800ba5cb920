/**
 * The HTML report's script, inline: it draws the timeline from the `timeline-data` element
 * into one SVG, a few elements per bucket at most (a million-event trace has no more buckets
 * than a small one), and redraws what is in view on zoom and pan. Strings reach the page
 * only through `textContent` and attributes, never as markup. Held to its behaviour by the
 * browser test (test/browser/htmlReport.test.ts): lanes, markers, zoom, no console error.
 */
export const viewerScript = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('timeline-data').textContent);
  var svg = document.getElementById('timeline');
  var rangeOut = document.getElementById('view-range');
  var hoverOut = document.getElementById('hover-info');
  var panel = document.getElementById('explanation');
  var NS = 'http://www.w3.org/2000/svg';
  var LABEL_W = 160, RIGHT = 6, AXIS_H = 20, MARK_H = 18, ROLL_H = 12, LANE_H = 16, CHART_H = 60, GAP = 8;
  var span = data.spanUs, bucketUs = data.bucketUs;
  var minSpan = Math.min(span, Math.max(2, bucketUs * 2));
  var view = { from: 0, to: span };
  var findings = data.findings.slice().sort(function (a, b) { return a[1] - b[1] || a[0] - b[0]; });
  var rows = [];
  var y = AXIS_H;
  function addRow(kind, label, height, lane) { rows.push({ kind: kind, label: label, y: y, h: height, lane: lane }); y += height; }
  addRow('findings', 'findings', MARK_H);
  addRow('rollovers', 'rollovers', ROLL_H);
  data.lanes.forEach(function (lane) { addRow(lane[1], lane[0], LANE_H, lane); });
  // Mainline pins nothing: no chart for it.
  if (data.maxPinned !== null || data.pinned.length > 0) {
    y += GAP;
    addRow('pinned', data.maxPinned === null ? 'pinned VMIDs' : 'pinned VMIDs / max', CHART_H);
  }
  var totalH = y + 4;

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var key in attrs) node.setAttribute(key, String(attrs[key]));
    if (parent) parent.appendChild(node);
    return node;
  }
  function plotWidth() { return Math.max(100, (svg.clientWidth || 1000) - LABEL_W - RIGHT); }
  function xOf(t, plotW) { return LABEL_W + (t - view.from) / (view.to - view.from) * plotW; }
  function tOf(px) { return view.from + (px - LABEL_W) / plotWidth() * (view.to - view.from); }
  function duration(us) {
    if (us >= 1e6) return (us / 1e6).toFixed(us >= 1e7 ? 1 : 3) + ' s';
    if (us >= 1e3) return (us / 1e3).toFixed(us >= 1e4 ? 1 : 3) + ' ms';
    return Math.round(us) + ' \u00b5s';
  }
  function traceTime(rel) {
    var us = Math.round(data.startUs + rel);
    var s = Math.floor(us / 1e6);
    return s + '.' + String(us - s * 1e6).padStart(6, '0');
  }
  function niceStep(rough) {
    var p = Math.pow(10, Math.floor(Math.log10(Math.max(rough, 1e-9))));
    var m = rough / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function cellColour(owner) {
    var hue = owner < 0 ? null : data.owners[owner][1];
    return hue === null ? '#9e9e9e' : 'hsl(' + hue + ',65%,48%)';
  }

  function drawAxis(g, plotW) {
    var step = Math.max(1, niceStep((view.to - view.from) / 8));
    for (var t = Math.ceil(view.from / step) * step; t <= view.to; t += step) {
      var x = xOf(t, plotW);
      el('line', { x1: x, x2: x, y1: AXIS_H - 4, y2: totalH, class: 'gridline' }, g);
      el('text', { x: x + 2, y: AXIS_H - 7, class: 'tick' }, g).textContent = '+' + duration(t);
    }
  }
  function drawLabels(g) {
    rows.forEach(function (row) {
      var text = el('text', { x: 4, y: row.y + Math.min(row.h, LANE_H) - 4, class: 'lane-label' }, g);
      text.textContent = row.label;
    });
  }
  function drawRollovers(g, plotW, row) {
    data.rollovers.forEach(function (entry) {
      var t0 = entry[0] * bucketUs;
      if (t0 + bucketUs < view.from || t0 > view.to) return;
      var x = xOf(t0 + bucketUs / 2, plotW);
      el('line', { x1: x, x2: x, y1: row.y + ROLL_H, y2: totalH, class: 'rollover' }, g);
      el('rect', { x: x - 1.5, y: row.y + 2, width: 3, height: ROLL_H - 4, class: 'rollover-mark' }, g);
    });
  }
  /** Zoomed in far enough, a wide stretch of one owner names it (VM and VMID, or the binding). */
  function labelRun(g, run, row) {
    var width = parseFloat(run.rect.getAttribute('width'));
    if (run.owner < 0 || width < 90) return;
    var text = data.owners[run.owner][0];
    var fits = Math.floor((width - 6) / 6);
    el('text', { x: run.x0 + 3, y: row.y + LANE_H - 5, class: 'cell-label' }, g).textContent = text.length <= fits ? text : text.slice(0, Math.max(1, fits - 1)) + '…';
  }
  function drawLane(g, plotW, row) {
    var last = null;
    var runs = [];
    row.lane[2].forEach(function (cell) {
      var t0 = cell[0] * bucketUs, t1 = t0 + bucketUs;
      if (t1 <= view.from || t0 >= view.to) return;
      var x0 = Math.max(LABEL_W, xOf(t0, plotW)), x1 = Math.min(LABEL_W + plotW, xOf(t1, plotW));
      var owner = cell.length > 3 ? cell[3] : -1;
      var full = Math.min(1, cell[1] / bucketUs);
      if (last !== null && last.owner === owner && last.bucket === cell[0] - 1 && full >= 0.95 && last.full >= 0.95) {
        last.rect.setAttribute('width', Math.max(1, x1 - last.x0));
        last.bucket = cell[0];
        return;
      }
      var rect = el('rect', { x: x0, y: row.y + 2, width: Math.max(1, x1 - x0), height: LANE_H - 4, class: 'cell', fill: cellColour(owner), 'fill-opacity': (0.3 + 0.7 * Math.sqrt(full)).toFixed(2) }, g);
      last = { owner: owner, bucket: cell[0], full: full, x0: x0, rect: rect };
      runs.push(last);
    });
    runs.forEach(function (run) { labelRun(g, run, row); });
  }
  function drawPinned(g, plotW, row) {
    var top = Math.max(1, data.maxPinned === null ? 0 : data.maxPinned);
    data.pinned.forEach(function (cell) { top = Math.max(top, cell[2]); });
    function yOf(v) { return row.y + CHART_H - 2 - v / top * (CHART_H - 8); }
    var clip = el('clipPath', { id: 'plot-clip' }, g);
    el('rect', { x: LABEL_W, y: row.y, width: plotW, height: CHART_H }, clip);
    var d = 'M' + xOf(0, plotW) + ' ' + yOf(0);
    var previous = 0;
    data.pinned.forEach(function (cell) {
      var x = xOf(cell[0] * bucketUs, plotW);
      d += 'L' + x + ' ' + yOf(previous) + 'L' + x + ' ' + yOf(cell[2]) + 'L' + x + ' ' + yOf(cell[1]) + 'L' + x + ' ' + yOf(cell[3]);
      previous = cell[3];
    });
    d += 'L' + xOf(span, plotW) + ' ' + yOf(previous);
    el('path', { d: d, class: 'pinned', 'clip-path': 'url(#plot-clip)' }, g);
    if (data.maxPinned !== null) {
      var ym = yOf(data.maxPinned);
      el('line', { x1: LABEL_W, x2: LABEL_W + plotW, y1: ym, y2: ym, class: 'pinned-max' }, g);
      el('text', { x: LABEL_W + plotW - 4, y: ym - 3, class: 'tick', 'text-anchor': 'end' }, g).textContent = 'max_pinned_vmids ' + data.maxPinned;
    }
  }
  function drawFindings(g, plotW, row) {
    var clusters = [];
    findings.forEach(function (f) {
      if (f[1] < view.from || f[1] > view.to) return;
      var x = xOf(f[1], plotW);
      var cluster = clusters[clusters.length - 1];
      if (cluster && x - cluster.x < 6) cluster.items.push(f);
      else clusters.push({ x: x, items: [f] });
    });
    var rank = { error: 0, warning: 1, notice: 2 };
    clusters.forEach(function (cluster) {
      var worst = cluster.items.reduce(function (a, b) { return rank[b[2]] < rank[a[2]] ? b : a; });
      var sure = cluster.items.some(function (f) { return f[4] === 0; });
      var x = cluster.x;
      var mark = el('path', { d: 'M' + (x - 5) + ' ' + (row.y + 2) + 'L' + (x + 5) + ' ' + (row.y + 2) + 'L' + x + ' ' + (row.y + MARK_H - 3) + 'Z', class: 'marker sev-' + worst[2] + (sure ? '' : ' inconclusive'), 'data-findings': cluster.items.map(function (f) { return f[0]; }).join(',') }, g);
      el('title', {}, mark).textContent = cluster.items.map(function (f) { return '[' + f[0] + '] ' + f[3]; }).join('\n');
    });
  }

  function render() {
    var plotW = plotWidth();
    var width = LABEL_W + plotW + RIGHT;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + totalH);
    svg.setAttribute('height', totalH);
    svg.setAttribute('data-view-from', String(view.from));
    svg.setAttribute('data-view-to', String(view.to));
    var g = el('g', {}, svg);
    drawAxis(g, plotW);
    rows.forEach(function (row) {
      if (row.kind === 'rollovers') drawRollovers(g, plotW, row);
      else if (row.kind === 'cpu' || row.kind === 'stream') drawLane(g, plotW, row);
      else if (row.kind === 'pinned') drawPinned(g, plotW, row);
    });
    drawFindings(g, plotW, rows[0]);
    drawLabels(g);
    rangeOut.textContent = traceTime(view.from) + ' to ' + traceTime(view.to) + ' (' + duration(view.to - view.from) + ' of ' + duration(span) + ', buckets of ' + duration(bucketUs) + ')';
  }

  function zoomTo(from, to) {
    var width = Math.min(span, Math.max(minSpan, to - from));
    var start = Math.min(Math.max(0, from), span - width);
    view = { from: start, to: start + width };
    render();
  }
  function zoomAround(t, factor) { zoomTo(t - (t - view.from) * factor, t + (view.to - t) * factor); }
  function pan(fraction) { var d = (view.to - view.from) * fraction; zoomTo(view.from + d, view.to + d); }
  function centre() { return (view.from + view.to) / 2; }

  function showFindings(indexes) {
    panel.textContent = '';
    var close = document.createElement('button');
    close.type = 'button';
    close.textContent = 'close';
    close.addEventListener('click', function () { panel.hidden = true; });
    panel.appendChild(close);
    indexes.forEach(function (index) {
      var source = document.getElementById('finding-' + index);
      if (!source) return;
      var copy = source.cloneNode(true);
      copy.removeAttribute('id');
      copy.open = true;
      panel.appendChild(copy);
    });
    panel.hidden = false;
  }

  function cellAt(lane, bucket) {
    var cells = lane[2], lo = 0, hi = cells.length - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (cells[mid][0] === bucket) return cells[mid];
      if (cells[mid][0] < bucket) lo = mid + 1; else hi = mid - 1;
    }
    return null;
  }
  function describe(row, t) {
    var bucket = Math.floor(t / bucketUs);
    var when = traceTime(bucket * bucketUs) + ' + ' + duration(bucketUs);
    if (row.kind === 'cpu' || row.kind === 'stream') {
      var cell = cellAt(row.lane, bucket);
      if (cell === null) return row.label + ', ' + when + ': idle';
      var parts = [];
      for (var i = 3; i + 1 < cell.length; i += 2) parts.push(data.owners[cell[i]][0] + ' ' + Math.round(cell[i + 1] / bucketUs * 100) + '%');
      return row.label + ', ' + when + ': ' + parts.join('; ') + ' (' + cell[2] + (row.kind === 'cpu' ? ' loads)' : ' STE writes)');
    }
    if (row.kind === 'rollovers') {
      var count = 0;
      data.rollovers.forEach(function (entry) { if (entry[0] === bucket) count = entry[1]; });
      return 'rollovers, ' + when + ': ' + count;
    }
    if (row.kind === 'pinned') {
      var value = 0, sample = null;
      data.pinned.forEach(function (cell) { if (cell[0] <= bucket) { value = cell[3]; if (cell[0] === bucket) sample = cell; } });
      return 'pinned VMIDs at ' + traceTime(t) + ': ' + value + (sample ? ' (' + sample[1] + ' to ' + sample[2] + ' in this bucket)' : '') + (data.maxPinned === null ? '' : ' of max_pinned_vmids ' + data.maxPinned);
    }
    return 'findings: click a marker for its explanation';
  }

  var drag = null;
  svg.addEventListener('pointerdown', function (event) {
    drag = { x: event.clientX, view: view, moved: false, target: event.target };
    svg.setPointerCapture(event.pointerId);
  });
  svg.addEventListener('pointermove', function (event) {
    var box = svg.getBoundingClientRect();
    var px = (event.clientX - box.left) * ((LABEL_W + plotWidth() + RIGHT) / box.width);
    var py = (event.clientY - box.top) * (totalH / box.height);
    if (drag !== null) {
      var dx = event.clientX - drag.x;
      if (Math.abs(dx) > 3) drag.moved = true;
      if (drag.moved) {
        svg.classList.add('panning');
        var d = -dx / box.width * (drag.view.to - drag.view.from) * (box.width / plotWidth());
        view = drag.view;
        zoomTo(drag.view.from + d, drag.view.to + d);
      }
      return;
    }
    var row = rows.find(function (r) { return py >= r.y && py < r.y + r.h; });
    hoverOut.textContent = row && px >= LABEL_W ? describe(row, tOf(px)) : '';
  });
  svg.addEventListener('pointerup', function (event) {
    // Pointer capture sends the release to the SVG itself: the marker is where the press began.
    var target = drag === null ? event.target : drag.target;
    var moved = drag !== null && drag.moved;
    drag = null;
    svg.classList.remove('panning');
    if (moved) return;
    if (target && target.classList && target.classList.contains('marker')) {
      showFindings(target.getAttribute('data-findings').split(',').map(Number));
    }
  });
  svg.addEventListener('wheel', function (event) {
    event.preventDefault();
    var box = svg.getBoundingClientRect();
    var px = (event.clientX - box.left) * ((LABEL_W + plotWidth() + RIGHT) / box.width);
    zoomAround(px >= LABEL_W ? tOf(px) : centre(), event.deltaY < 0 ? 0.8 : 1.25);
  }, { passive: false });
  svg.addEventListener('keydown', function (event) {
    var keys = { '+': function () { zoomAround(centre(), 0.5); }, '=': function () { zoomAround(centre(), 0.5); }, '-': function () { zoomAround(centre(), 2); }, ArrowLeft: function () { pan(-0.25); }, ArrowRight: function () { pan(0.25); }, '0': function () { zoomTo(0, span); } };
    if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
  });
  document.getElementById('zoom-in').addEventListener('click', function () { zoomAround(centre(), 0.5); });
  document.getElementById('zoom-out').addEventListener('click', function () { zoomAround(centre(), 2); });
  document.getElementById('pan-left').addEventListener('click', function () { pan(-0.25); });
  document.getElementById('pan-right').addEventListener('click', function () { pan(0.25); });
  document.getElementById('zoom-reset').addEventListener('click', function () { zoomTo(0, span); });
  window.addEventListener('resize', render);
  render();
})();
`;
