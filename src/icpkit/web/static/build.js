// Polls the running build (GET /v1/builds/{id}, the login cookie authenticates) and updates the
// status on the RevOps page; reloads the page when the build has finished. No JavaScript: the
// page's <noscript> refresh does the same every 5 seconds.
(function () {
  "use strict";
  var box = document.getElementById("build-status");
  if (!box) { return; }
  var id = box.getAttribute("data-build");
  var bar = box.querySelector("progress");
  var stage = box.querySelector(".stage");
  function poll() {
    fetch("/v1/builds/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (b) {
        if (b.status === "running") {
          if (bar) { bar.value = b.progress; bar.textContent = Math.round(100 * b.progress) + "%"; }
          if (stage) { stage.textContent = b.stage; }
          window.setTimeout(poll, 1000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
