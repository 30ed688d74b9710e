/* A place page on the rider's phone: one "去这里" button into the rider's own
 * map app (remembered), riding or walking, the distance from the rider, and
 * sharing.  Text from the page reaches the DOM through textContent only.
 */
(function () {
  "use strict";

  var route = document.getElementById("route");
  if (!route) { return; }
  var strings = JSON.parse(document.getElementById("place-strings").textContent);
  var go = document.getElementById("go");
  var goApp = document.getElementById("go-app");
  var links = Array.prototype.slice.call(route.querySelectorAll(".nav-links a[data-app]"));
  var store = {
    get: function (k) { try { return window.localStorage.getItem(k); } catch (e) { return null; } },
    set: function (k, v) { try { window.localStorage.setItem(k, v); } catch (e) { /* private mode */ } }
  };

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, key) {
      return values[key] !== undefined ? String(values[key]) : m;
    });
  }
  function mode() {
    var on = route.querySelector('input[name="route-mode"]:checked');
    return on ? on.value : "ride";
  }
  function linkFor(app) {
    return links.filter(function (a) { return a.dataset.app === app; })[0] || links[0];
  }

  /* ---------- the primary button follows the remembered app and mode ---------- */
  function update() {
    var m = mode();
    links.forEach(function (a) { a.href = m === "walk" ? a.dataset.walk : a.dataset.ride; });
    var chosen = linkFor(store.get("yitu.navApp") || "amap");
    go.href = chosen.href;
    go.dataset.app = chosen.dataset.app;
    if (chosen.dataset.fallback) { go.dataset.fallback = chosen.dataset.fallback; }
    else { delete go.dataset.fallback; }
    goApp.textContent = chosen.textContent;
  }
  var savedMode = store.get("yitu.navMode");
  if (savedMode) {
    var radio = route.querySelector('input[name="route-mode"][value="' + (savedMode === "walk" ? "walk" : "ride") + '"]');
    if (radio) { radio.checked = true; }
  }
  route.addEventListener("change", function (e) {
    if (e.target.name === "route-mode") { store.set("yitu.navMode", e.target.value); update(); }
  });

  // An app scheme (baidumap://) does nothing where the app is missing: if the
  // page is still shown a moment later, open the app's web page instead.
  function withFallback(a) {
    var fallback = a.dataset.fallback;
    if (!fallback) { return; }
    var timer = setTimeout(function () {
      if (!document.hidden) { window.location.href = fallback; }
    }, 1500);
    document.addEventListener("visibilitychange", function () { clearTimeout(timer); }, { once: true });
  }
  links.forEach(function (a) {
    a.addEventListener("click", function () {
      store.set("yitu.navApp", a.dataset.app);
      update();
      withFallback(a);
    });
  });
  go.addEventListener("click", function () { withFallback(go); });
  update();

  /* ---------- distance and time from the rider ---------- */
  var fromYou = document.getElementById("from-you");
  var place = [Number(route.dataset.lon), Number(route.dataset.lat)];
  function metres(a, b) {
    // Haversine on the mean Earth radius: within 0.5 % of the ellipsoid,
    // plenty for "1.2 km, 5 min ride".
    var r = 6371008.8, rad = Math.PI / 180;
    var dLat = (b[1] - a[1]) * rad, dLon = (b[0] - a[0]) * rad;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    return 2 * r * Math.asin(Math.sqrt(h));
  }
  function showFrom(pos) {
    var m = metres(pos, place);
    var dist = m < 1000 ? fill(strings.metres, { n: Math.round(m / 10) * 10 })
      : fill(strings.km, { n: (m / 1000).toFixed(m < 10000 ? 1 : 0) });
    // Walking 5 km/h, riding 15 km/h: the finder list's estimates.
    fromYou.textContent = fill(strings.from_you, { dist: dist }) + " · " +
      fill(strings.walk, { min: Math.max(1, Math.round(m / 83.33)) }) + " · " +
      fill(strings.ride, { min: Math.max(1, Math.round(m / 250)) });
  }
  // The finder keeps the last position for ten minutes: no second prompt.
  var kept = null;
  try { kept = JSON.parse(window.sessionStorage.getItem("yitu.position") || "null"); } catch (e) { kept = null; }
  if (kept && Date.now() - kept.at < 600000) {
    showFrom([kept.lon, kept.lat]);
  } else if (navigator.permissions && navigator.geolocation) {
    navigator.permissions.query({ name: "geolocation" }).then(function (status) {
      if (status.state !== "granted") { return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        showFrom([p.coords.longitude, p.coords.latitude]);
      }, function () { /* no position: no distance */ }, { maximumAge: 60000, timeout: 10000 });
    }).catch(function () { /* no Permissions API */ });
  }

  /* ---------- share: the Web Share API, else copy the link ---------- */
  var share = document.getElementById("share");
  if (share) {
    share.addEventListener("click", function () {
      var data = { title: document.title, url: window.location.href.split("?")[0] };
      if (navigator.share) {
        navigator.share(data).catch(function () { /* cancelled */ });
        return;
      }
      var done = function () { share.textContent = strings.copied; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(data.url).then(done, function () { window.prompt("", data.url); });
      } else {
        window.prompt("", data.url);
      }
    });
  }
})();
