// The exports page while an export runs: every few seconds, read how far each one is
// (./status, JSON) and update its bar and text; when one finishes, reload the page once so
// that its download link (or its error) shows.
(function () {
  var table = document.getElementById("exports");
  var url = table && table.getAttribute("data-status-url");
  if (!url) {
    return;
  }
  var script = document.currentScript;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (exports) {
        var finished = false;
        Object.keys(exports).forEach(function (id) {
          var row = table.querySelector('[data-export="' + id + '"]');
          if (!row) {
            return;
          }
          var state = exports[id];
          var bar = document.getElementById("progress-" + id);
          if (state.total) {
            bar.max = state.total;
            bar.value = state.done;
          }
          bar.textContent = state.text;
          document.getElementById("progress-text-" + id).textContent = state.text;
          if (row.getAttribute("data-status") !== state.status &&
              (state.status === "ready" || state.status === "failed")) {
            finished = true;
          }
        });
        if (finished) {
          document.getElementById("exports-live").textContent = script.getAttribute("data-ready");
          window.location.reload();
        } else {
          window.setTimeout(poll, 3000);
        }
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  window.setTimeout(poll, 2000);
})();
