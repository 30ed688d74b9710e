// Report form: show only the fields the chosen problem needs; fill the
// position from the phone's location.  Without JavaScript every field shows.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) { return; }
  form.classList.add("js");
  function update() {
    var chosen = form.querySelector("input[name=type]:checked");
    var needs = chosen ? chosen.getAttribute("data-needs") : "";
    form.querySelectorAll(".needs").forEach(function (box) {
      box.hidden = !box.classList.contains("needs-" + needs);
    });
  }
  form.addEventListener("change", update);
  update();
  var locate = document.getElementById("use-location");
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.getElementById("lon").value = pos.coords.longitude.toFixed(6);
        document.getElementById("lat").value = pos.coords.latitude.toFixed(6);
      });
    });
  }
})();
