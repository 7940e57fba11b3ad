/* The date filters' picker (Flask-Admin's bootstrap-daterangepicker 1.3) in the page's language
   (<html lang>), weeks from Monday. Registered before Flask-Admin's form.js builds the pickers
   at page load. */
(function ($) {
  "use strict";
  var LOCALES = {
    fr: {
      applyLabel: "Appliquer",
      cancelLabel: "Annuler",
      fromLabel: "Du",
      toLabel: "Au",
      weekLabel: "S",
      customRangeLabel: "Période",
      daysOfWeek: ["di", "lu", "ma", "me", "je", "ve", "sa"],
      monthNames: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                   "septembre", "octobre", "novembre", "décembre"]
    },
    de: {
      applyLabel: "Übernehmen",
      cancelLabel: "Abbrechen",
      fromLabel: "Von",
      toLabel: "Bis",
      weekLabel: "KW",
      customRangeLabel: "Zeitraum",
      daysOfWeek: ["So", "Mo", "Di", "Mi", "Do", "Fr", "Sa"],
      monthNames: ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
                   "September", "Oktober", "November", "Dezember"]
    },
    en: {
      applyLabel: "Apply",
      cancelLabel: "Cancel",
      fromLabel: "From",
      toLabel: "To",
      weekLabel: "W",
      customRangeLabel: "Custom range",
      daysOfWeek: ["Su", "Mo", "Tu", "We", "Th", "Fr", "Sa"],
      monthNames: ["January", "February", "March", "April", "May", "June", "July", "August",
                   "September", "October", "November", "December"]
    }
  };
  var lang = (document.documentElement.lang || "fr").slice(0, 2);
  var locale = $.extend({firstDay: 1}, LOCALES[lang] || LOCALES.fr);
  $(function () {
    var original = $.fn.daterangepicker;
    if (!original) { return; }
    $.fn.daterangepicker = function (options, callback) {
      var merged = $.extend(true, {}, options || {});
      merged.locale = $.extend({}, locale, merged.locale || {});
      return original.call(this, merged, callback);
    };
  });
})(jQuery);
