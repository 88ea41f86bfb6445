"""The page's own style and script: vanilla JS that builds the connection table from its
JSON, sorts it when a header is clicked (numbers as numbers, missing values last) and
filters it as the box is typed in (the terms are explained in ``table.FILTER_HELP``),
showing a page of rows at a time (a capture of 16,000 connections opens at once); and
draws each graph when it comes near the screen (a page of many big graphs opens as fast as
its first screen; ``window.tcpwatchDrawAll()`` draws them all at once, for printing)."""

from __future__ import annotations

import json

from ..plot.page import CONFIG

STYLE = """
.capture td{padding:1px 10px 1px 0}
.filter{margin:.6em 0} #filter{width:40em;max-width:90%;padding:3px}
#shown{margin-left:1em;color:#555}
.tablewrap{max-height:32em;overflow:auto;border:1px solid #ddd}
table.data{border-collapse:collapse;font-size:12px}
#conns{border-collapse:collapse;font-size:12px}
#conns th{position:sticky;top:0;background:#eef;cursor:pointer;user-select:none;
  white-space:nowrap;padding:3px 6px;border-bottom:1px solid #bbc}
#conns th[aria-sort=ascending]::after{content:" \\25B2"}
#conns th[aria-sort=descending]::after{content:" \\25BC"}
#conns td,table.data td,table.data th{padding:2px 6px;border-bottom:1px solid #eee;
  white-space:nowrap}
#conns td.num,table.data td.num{text-align:right;font-variant-numeric:tabular-nums}
#conns tr.drawn td:first-child{font-weight:bold}
section.conn{border-top:2px solid #99a;margin-top:2em}
.note{color:#555;font-size:12px} .warn{color:#a40}
pre.explain{max-height:30em}
"""

SCRIPT = r"""
(function () {
  var data = JSON.parse(document.getElementById("conn-data").textContent);
  var cols = data.columns, numeric = data.numeric, drawn = {}, page = data.page;
  data.drawn.forEach(function (c) { drawn[c] = true; });
  var table = document.getElementById("conns"), head = table.tHead.rows[0];
  var body = table.tBodies[0], box = document.getElementById("filter");
  var shown = document.getElementById("shown"), more = document.getElementById("more");
  var text = data.rows.map(function (r) {
    return r.map(function (v) { return v === null ? "" : String(v); });
  });
  var order = data.rows.map(function (_, i) { return i; });  // the current sort
  var match = order, limit = page, tests = [], trs = [];

  function row(i) {  // the <tr> of data row i, made when first shown
    if (trs[i]) return trs[i];
    var tr = document.createElement("tr");
    data.rows[i].forEach(function (v, j) {
      var td = document.createElement("td");
      if (numeric[j]) td.className = "num";
      if (j === 0 && drawn[v]) {
        var a = document.createElement("a");
        a.href = "#conn-" + v;
        a.textContent = text[i][j];
        td.appendChild(a);
        tr.className = "drawn";
      } else {
        td.textContent = text[i][j];
      }
      tr.appendChild(td);
    });
    return (trs[i] = tr);
  }

  function render() {  // the matching rows in sort order, the first `limit` of them
    var frag = document.createDocumentFragment();
    match.slice(0, limit).forEach(function (i) { frag.appendChild(row(i)); });
    body.textContent = "";
    body.appendChild(frag);
    shown.textContent = match.length + " of " + order.length + " connections" +
      (match.length > limit ? " (the first " + limit + " shown)" : "");
    more.hidden = match.length <= limit;
  }

  function refilter() {
    match = order.filter(function (i) { return tests.every(function (f) { return f(i); }); });
    render();
  }

  cols.forEach(function (c, j) {
    var th = document.createElement("th");
    th.textContent = c;
    th.title = data.tips[j];
    th.dataset.col = c;
    th.addEventListener("click", function () { sortBy(j, th); });
    head.appendChild(th);
  });

  function sortBy(j, th) {
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    Array.prototype.forEach.call(head.cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    order = data.rows.map(function (_, i) { return i; });
    order.sort(function (a, b) {
      var x = data.rows[a][j], y = data.rows[b][j];
      if (x === null || y === null) {  // missing values last, either way
        return x === y ? a - b : (x === null ? 1 : -1);
      }
      var c = numeric[j] ? x - y : String(x).localeCompare(String(y), undefined,
                                                          {numeric: true});
      return c === 0 ? a - b : dir * c;
    });
    limit = page;  // from the top again, as after a new filter
    refilter();
  }

  function column(name) {  // a column by its name, else the first that starts with it,
    name = name.toLowerCase();  // else the first that contains it (state: conn_state)
    var exact = cols.indexOf(name);
    if (exact >= 0) return exact;
    for (var j = 0; j < cols.length; j++) if (cols[j].indexOf(name) === 0) return j;
    for (j = 0; j < cols.length; j++) if (cols[j].indexOf(name) >= 0) return j;
    return -1;
  }

  function term(t) {  // one filter term -> a test of a row index
    var m = /^([a-z_]+)(<=|>=|:|=|<|>)(.*)$/i.exec(t);
    var j = m ? column(m[1]) : -1;
    if (j < 0) {
      var w = t.toLowerCase();
      return function (i) {
        return text[i].some(function (s) { return s.toLowerCase().indexOf(w) >= 0; });
      };
    }
    var op = m[2], want = m[3].toLowerCase(), n = parseFloat(m[3]);
    if (op === ":") return function (i) { return text[i][j].toLowerCase().indexOf(want) >= 0; };
    if (op === "=") return function (i) { return text[i][j].toLowerCase() === want; };
    return function (i) {
      var v = data.rows[i][j];
      if (v === null || typeof v !== "number" || isNaN(n)) return false;
      return op === "<" ? v < n : op === ">" ? v > n : op === "<=" ? v <= n : v >= n;
    };
  }

  box.addEventListener("input", function () {
    // terms apart by spaces; "quoted text" keeps its spaces (ended:"RST by")
    var terms = box.value.match(/[^\s"]*"[^"]*"?|\S+/g) || [];
    tests = terms.map(function (t) { return term(t.replace(/"/g, "")); });
    limit = page;
    refilter();
  });
  more.addEventListener("click", function () { limit += page; render(); });
  render();
})();
"""

LAZY = r"""
(function () {
  var config = PLOTLY_CONFIG;
  var divs = Array.prototype.slice.call(document.querySelectorAll("div.plot[data-figure]"));
  function draw(div) {
    if (div.dataset.drawn) return;
    div.dataset.drawn = "1";
    var f = JSON.parse(document.getElementById(div.dataset.figure).textContent);
    Plotly.newPlot(div, f.data, f.layout, config);
  }
  window.tcpwatchDrawAll = function () { divs.forEach(draw); };
  if (!("IntersectionObserver" in window)) { divs.forEach(draw); return; }
  var seen = new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (e.isIntersecting) { seen.unobserve(e.target); draw(e.target); }
    });
  }, {rootMargin: "600px 0px"});
  divs.forEach(function (d) { seen.observe(d); });
})();
""".replace("PLOTLY_CONFIG", json.dumps(CONFIG))
