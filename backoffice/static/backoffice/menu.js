// The list's menu bar without inline handlers (the Content-Security-Policy refuses them): an
// action of "With selected" runs Flask-Admin's modelActions (admin/js/actions.js), and a filter
// of "Add Filter" (added by admin/js/filters.js) does not follow its link.
document.addEventListener("click", function (event) {
  var action = event.target.closest("[data-model-action]");
  if (action && window.modelActions) {
    event.preventDefault();
    window.modelActions.execute(action.getAttribute("data-model-action"));
  }
  if (event.target.closest("a.filter")) {
    event.preventDefault();
  }
});
