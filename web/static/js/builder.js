/* Embed builder: any change re-renders the preview and the snippet (server-side). */
(function () {
  "use strict";
  var form = document.getElementById("builder");
  if (!form) { return; }
  form.addEventListener("change", function () { form.requestSubmit(); });
  var snippet = document.getElementById("snippet");
  if (snippet) {
    snippet.addEventListener("focus", function () { snippet.select(); });
  }
})();
