// Flask-Admin's filters.js builds each filter row (its operator <select> and its value field)
// in the browser, without a label: name them after the filter, as a screen reader needs, for
// the rows shown at load and those added with "Add Filter".
(function () {
  var script = document.currentScript;
  var operator = script.getAttribute("data-operator");
  var value = script.getAttribute("data-value");

  function filterName(row) {
    var link = row.querySelector("a.remove-filter");
    return link ? link.textContent.replace("\u00d7", "").trim() : "";
  }

  function label() {
    document.querySelectorAll("#filter_form tr").forEach(function (row) {
      var name = filterName(row);
      row.querySelectorAll("select.filter-op:not([aria-label])").forEach(function (el) {
        el.setAttribute("aria-label", name + " — " + operator);
      });
      row.querySelectorAll(".filter-val:not([aria-label])").forEach(function (el) {
        el.setAttribute("aria-label", name + " — " + value);
      });
    });
  }

  label();
  new MutationObserver(label).observe(document.body, { childList: true, subtree: true });
})();
