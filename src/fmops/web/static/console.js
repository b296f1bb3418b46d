// The console's only script of its own: draws the charts a page declares, and sends the CSRF token with
// every htmx request. Chart specs are JSON blocks (never executed), so the page needs no inline script.
(function () {
  "use strict";

  function drawCharts(root) {
    if (typeof Plotly === "undefined") return;
    root.querySelectorAll("script.chart-spec").forEach(function (block) {
      var target = document.getElementById(block.dataset.target);
      if (!target || target.dataset.drawn) return;
      var spec = JSON.parse(block.textContent);
      target.dataset.drawn = "1";
      Plotly.newPlot(target, spec.data, spec.layout, { displaylogo: false, responsive: true });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawCharts(event.target); });
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
  });
})();
