// The month report form: the error summary takes the focus, leaving with unsaved changes asks
// first, and the sticky save bar never hides the field being filled in.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) return;
  var bar = document.getElementById("save-bar");

  // After a failed save the summary is read first; its links move the focus to the field.
  var summary = document.getElementById("form-errors");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!field) return;
      event.preventDefault();
      field.focus();
    });
  }

  // Unsaved: a field changed since the page loaded, or the page shows what a failed save kept.
  var unsaved = form.hasAttribute("data-unsaved");
  var submitting = false;
  form.addEventListener("input", function () { unsaved = true; });
  form.addEventListener("change", function () { unsaved = true; });
  form.addEventListener("submit", function () { submitting = true; });
  window.addEventListener("beforeunload", function (event) {
    if (!unsaved || submitting) return;
    event.preventDefault();
    event.returnValue = "";
  });

  // Anchors and focus scroll the field above the bar (scroll-padding), and a field the
  // browser left under the bar is scrolled up by the overlap.
  function barHeight() { return bar ? bar.getBoundingClientRect().height : 0; }
  function pad() { document.documentElement.style.scrollPaddingBottom = barHeight() + 16 + "px"; }
  pad();
  window.addEventListener("resize", pad);
  form.addEventListener("focusin", function (event) {
    if (!bar || bar.contains(event.target)) return;
    var bottom = event.target.getBoundingClientRect().bottom;
    var top = bar.getBoundingClientRect().top;
    // Instant: Bootstrap makes scrolling smooth, and the field must be clear at once.
    if (bottom > top - 8) window.scrollBy({ top: bottom - top + 16, behavior: "instant" });
  });
})();
