/* The date filters' picker (Flask-Admin's bootstrap-daterangepicker 1.3) in French, weeks from
   Monday. Registered before Flask-Admin's form.js builds the pickers at page load. */
(function ($) {
  "use strict";
  var FRENCH = {
    applyLabel: "Appliquer",
    cancelLabel: "Annuler",
    fromLabel: "Du",
    toLabel: "Au",
    weekLabel: "S",
    customRangeLabel: "Période",
    daysOfWeek: ["di", "lu", "ma", "me", "je", "ve", "sa"],
    monthNames: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                 "septembre", "octobre", "novembre", "décembre"],
    firstDay: 1
  };
  $(function () {
    var original = $.fn.daterangepicker;
    if (!original) { return; }
    $.fn.daterangepicker = function (options, callback) {
      var merged = $.extend(true, {}, options || {});
      merged.locale = $.extend({}, FRENCH, merged.locale || {});
      return original.call(this, merged, callback);
    };
  });
})(jQuery);
