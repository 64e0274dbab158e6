// Sortable tables: click (or Enter on) a header to sort by that column;
// numeric cells sort by their data-sort value.
(function () {
  "use strict";
  function key(td) {
    var s = td ? td.getAttribute("data-sort") || "" : "";
    return /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s) ? { n: parseFloat(s), t: s } : { t: s.toLowerCase() };
  }
  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0], col = +th.getAttribute("data-col");
    var asc = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th[aria-sort]").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col]), y = key(b.cells[col]), c;
      if (x.n !== undefined && y.n !== undefined) { c = x.n - y.n; } else { c = x.t.localeCompare(y.t); }
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.addEventListener("click", function (e) {
    var th = e.target.closest && e.target.closest("table.sortable th[data-col]");
    if (th) { sortBy(th); }
  });
  document.addEventListener("keydown", function (e) {
    var th = e.target.closest && e.target.closest("table.sortable th[data-col]");
    if (th && e.key === "Enter") { sortBy(th); }
  });
})();
