// The township review page: the header checkbox selects every submitted report on the page.
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", function () {
    document.querySelectorAll(".report-select").forEach(function (box) { box.checked = all.checked; });
  });
})();
