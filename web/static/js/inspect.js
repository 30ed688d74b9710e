// The inspector's phone form (issue 11): capture time and position, keep the
// draft in localStorage, send it with fetch, and resend when the connection
// returns.  Nothing typed is lost to a failed submit.
(function () {
  "use strict";
  var form = document.getElementById("inspect-form");
  if (!form) { return; }
  var key = form.dataset.draftKey;
  var status = document.getElementById("inspect-status");
  var where = document.getElementById("inspect-position");
  var pending = false;

  function fields() {
    var out = {};
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token") { out[name] = String(value); }
    });
    return out;
  }
  function save() {
    try { localStorage.setItem(key, JSON.stringify(fields())); } catch (e) { /* full: keep going */ }
  }
  function restore() {
    var raw = null;
    try { raw = localStorage.getItem(key); } catch (e) { return; }
    if (!raw) { return; }
    var draft = JSON.parse(raw);
    Object.keys(draft).forEach(function (name) {
      var els = form.querySelectorAll("[name='" + name.replace(/'/g, "") + "']");
      els.forEach(function (el) {
        if (el.type === "radio") { el.checked = el.value === draft[name]; }
        else { el.value = draft[name]; }
      });
    });
  }
  function stamp() {
    if (!form.elements.visited_at.value) { form.elements.visited_at.value = new Date().toISOString(); }
  }
  function locate() {
    if (!navigator.geolocation) { where.textContent = form.dataset.msgNoposition; return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.elements.lon.value = pos.coords.longitude.toFixed(6);
      form.elements.lat.value = pos.coords.latitude.toFixed(6);
      where.textContent = form.dataset.msgPosition;
      save();
    }, function () { where.textContent = form.dataset.msgNoposition; },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }
  function send() {
    if (pending) { return; }
    pending = true;
    status.textContent = form.dataset.msgSending;
    var body = new FormData(form);
    fetch(form.action || window.location.href, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (answer) {
      pending = false;
      if (answer.ok) {
        try { localStorage.removeItem(key); } catch (e) { /* nothing kept */ }
        window.location.assign(answer.data.url);
      } else {
        status.textContent = form.dataset.msgError + " " + (answer.data.field || "") + ": " + answer.data.error;
      }
    }).catch(function () {
      pending = false;
      status.textContent = form.dataset.msgOffline;
      form.dataset.waiting = "1";
    });
  }

  restore();
  locate();
  form.addEventListener("change", function () { stamp(); save(); });
  form.addEventListener("input", save);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    stamp();
    save();
    if (!navigator.onLine) {
      status.textContent = form.dataset.msgOffline;
      form.dataset.waiting = "1";
      return;
    }
    send();
  });
  window.addEventListener("online", function () {
    if (form.dataset.waiting === "1") { form.dataset.waiting = ""; send(); }
  });
}());
