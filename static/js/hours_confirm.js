// The hours confirmation page: the header checkbox selects every pending row on the page.
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", function () {
    document.querySelectorAll(".hours-select").forEach(function (box) { box.checked = all.checked; });
  });
})();
