/* Shows and hides the fields of a section live, with the JsonLogic conditions of the
   definition (json-logic-js). The server evaluates the same conditions and is the authority;
   without JavaScript every field stays visible and hidden answers are dropped on save. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-answers]");
  if (!form || !window.jsonLogic) { return; }
  var saved = JSON.parse(form.getAttribute("data-answers") || "{}");

  function answers() {
    var data = Object.assign({}, saved);
    var names = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf_token" || el.name === "action") { return; }
      names[el.name] = names[el.name] || [];
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { return; }
      names[el.name].push(el.value);
    });
    Object.keys(names).forEach(function (name) {
      var values = names[name];
      var el = form.elements[name];
      var kind = el && (el.type || (el[0] && el[0].type));
      var multiple = form.querySelector("[name='" + name + "'][data-multiple]");
      var value;
      if (multiple) { value = values; }
      else if (kind === "checkbox") { value = values.length > 0; }
      else { value = values.length ? values[0] : null; }
      if (value === "true") { value = true; } else if (value === "false") { value = false; }
      if (typeof value === "string" && value !== "" && !isNaN(value) && el && el.type === "number") {
        value = Number(value);
      }
      data[name] = value;
    });
    return data;
  }

  function refresh() {
    var data = answers();
    form.querySelectorAll("[data-visible-if]").forEach(function (box) {
      var rule = JSON.parse(box.getAttribute("data-visible-if"));
      var show = !!window.jsonLogic.apply(rule, data);
      box.hidden = !show;
    });
    // Required or optional as the rules say for the answers on the page: the "(facultatif)"
    // marker while required_if is false, the field's reason while it is true.
    form.querySelectorAll("[data-optional-unless]").forEach(function (mark) {
      mark.hidden = !!window.jsonLogic.apply(JSON.parse(mark.getAttribute("data-optional-unless")), data);
    });
    form.querySelectorAll("[data-shown-if]").forEach(function (reason) {
      reason.hidden = !window.jsonLogic.apply(JSON.parse(reason.getAttribute("data-shown-if")), data);
    });
  }

  form.addEventListener("change", refresh);
  form.addEventListener("input", refresh);
  refresh();
}());
