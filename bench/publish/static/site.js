// daft-bench site: sortable tables, and a click on a chart's point opens the report it came from
// (every trace carries the report's path as customdata[0]).
"use strict";

function sortValue(cell) {
  const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
  const number = Number(raw);
  return raw !== "" && !Number.isNaN(number) ? number : raw.toLowerCase();
}

function compareValues(a, b) {
  // Numbers before text (empty cells are put last by the caller, in either direction).
  if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
  return typeof a === "number" ? -1 : 1;
}

function sortBy(table, header) {
  const index = Array.from(header.parentNode.children).indexOf(header);
  const ascending = header.getAttribute("aria-sort") !== "ascending";
  table.querySelectorAll("th").forEach((th) => th.removeAttribute("aria-sort"));
  header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows).map((row, order) => [row, sortValue(row.cells[index] || row), order]);
  rows.sort((x, y) => {
    const empty = (x[1] === "") - (y[1] === "");
    if (empty) return empty;
    return (ascending ? 1 : -1) * compareValues(x[1], y[1]) || x[2] - y[2];
  });
  rows.forEach(([row]) => body.appendChild(row));
}

function openReports(plot) {
  plot.on("plotly_click", (event) => {
    const point = event.points[0];
    const data = point && point.customdata;
    const target = Array.isArray(data) ? data[0] : data;
    if (typeof target === "string" && target) window.location.href = target;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("table.sortable th").forEach((header) => {
    const table = header.closest("table");
    header.addEventListener("click", () => sortBy(table, header));
    header.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, header); }
    });
  });
  document.querySelectorAll(".plotly-graph-div").forEach((plot) => {
    if (typeof plot.on === "function") openReports(plot);
  });
});
