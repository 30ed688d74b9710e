/* Start the first view's API requests while Leaflet is still being parsed.
 *
 * On a phone, evaluating leaflet.js and building the map takes longer than
 * the API takes to answer; asking first saves that much time to interactive.
 * This script runs before leaflet.js, so it works out the first view itself:
 * the map <div>'s size (the page's CSS is applied by now), the view the
 * server chose (centre and zoom, or a box to fit), and Leaflet's own rule for
 * fitting a box (getBoundsZoom: the largest whole zoom at which the box
 * fits).  finder.js uses these answers only when they cover exactly what it
 * would ask for (same zoom and filters, a box containing its own); otherwise
 * it asks again, so a wrong guess here costs time, never correctness.
 */
(function () {
  "use strict";
  var root = document.getElementById("finder");
  var div = root && root.querySelector(".folium-map");
  if (!root || !div || !window.fetch || !window.URLSearchParams) { return; }
  var width = div.clientWidth;
  var height = div.clientHeight;
  if (!width || !height) { return; }
  var view;
  try { view = JSON.parse(root.dataset.view); } catch (e) { return; }

  var gcj = root.dataset.tileCrs === "gcj02";
  if (gcj && !window.gcoord) { return; }
  function toDisplay(lon, lat) {
    return gcj ? window.gcoord.transform([lon, lat], window.gcoord.WGS84, window.gcoord.GCJ02)
      : [lon, lat];
  }
  function toWgs(lon, lat) {
    return gcj ? window.gcoord.transform([lon, lat], window.gcoord.GCJ02, window.gcoord.WGS84)
      : [lon, lat];
  }
  // Web Mercator (EPSG:3857) pixels at zoom z, as Leaflet projects them.
  var R = 6378137;
  var MAX_LAT = 85.0511287798;
  function project(lon, lat, z) {
    var scale = 256 * Math.pow(2, z) / (2 * Math.PI * R);
    var sin = Math.sin(Math.max(Math.min(MAX_LAT, lat), -MAX_LAT) * Math.PI / 180);
    var x = R * lon * Math.PI / 180;
    var y = R * Math.log((1 + sin) / (1 - sin)) / 2;
    var half = Math.PI * R;
    return [scale * (x + half), scale * (half - y)];
  }
  function unproject(px, py, z) {
    var scale = 256 * Math.pow(2, z) / (2 * Math.PI * R);
    var half = Math.PI * R;
    var x = px / scale - half;
    var y = half - py / scale;
    return [x / R * 180 / Math.PI, (2 * Math.atan(Math.exp(y / R)) - Math.PI / 2) * 180 / Math.PI];
  }
  var minZoom = Number(root.dataset.minZoom || 0);
  var maxZoom = Number(root.dataset.maxZoom || 18);
  var zoom;
  var centre;  // projected pixels at `zoom`
  if (view.bbox) {
    var sw = toDisplay(view.bbox[0], view.bbox[1]);
    var ne = toDisplay(view.bbox[2], view.bbox[3]);
    var a = project(sw[0], sw[1], 0);
    var b = project(ne[0], ne[1], 0);
    var scale = Math.min(width / Math.abs(b[0] - a[0]), height / Math.abs(a[1] - b[1]));
    zoom = Math.log(scale) / Math.LN2;
    zoom = Math.round(zoom * 100) / 100;  // Leaflet: within 1 % of a level counts as it
    zoom = Math.max(minZoom, Math.min(maxZoom, Math.floor(zoom)));
    var pa = project(sw[0], sw[1], zoom);
    var pb = project(ne[0], ne[1], zoom);
    centre = [(pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2];
  } else {
    zoom = view.zoom;
    var d = toDisplay(view.lon, view.lat);
    centre = project(d[0], d[1], zoom);
  }
  // A little larger than the view: finder.js needs the answer to contain its box.
  var padX = width * 0.52;
  var padY = height * 0.52;
  var nw = unproject(centre[0] - padX, centre[1] - padY, zoom);
  var se = unproject(centre[0] + padX, centre[1] + padY, zoom);
  var wsw = toWgs(nw[0], se[1]);
  var wne = toWgs(se[0], nw[1]);
  var box = [wsw[0], wsw[1], wne[0], wne[1]];
  if (gcj) { box = [box[0] - 0.01, box[1] - 0.01, box[2] + 0.01, box[3] + 0.01]; }

  var filters = new URLSearchParams();
  (root.dataset.kinds || "").split(",").forEach(function (k) { if (k) { filters.append("kind", k); } });
  var form = document.getElementById("filters");
  if (form) {
    Array.prototype.forEach.call(form.querySelectorAll('input[name="amenity"]:checked'),
      function (i) { filters.append("amenity", i.value); });
    var open = form.querySelector('input[name="open_now"]');
    if (open && open.checked) { filters.set("open_now", "1"); }
  } else {
    (root.dataset.amenities || "").split(",").forEach(function (a) {
      if (a) { filters.append("amenity", a); }
    });
    if (root.dataset.openNow === "1") { filters.set("open_now", "1"); }
  }
  var filterKey = filters.toString();
  function get(url) {
    return fetch(url, { headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }
  var clusters = new URLSearchParams(filterKey);
  clusters.set("bbox", box.map(function (v) { return v.toFixed(5); }).join(","));
  clusters.set("zoom", String(zoom));
  var c = unproject(centre[0], centre[1], zoom);
  var origin = toWgs(c[0], c[1]);
  var prefetch = { zoom: zoom, box: box, filters: filterKey, origin: origin };
  prefetch.clusters = get(root.dataset.clustersUrl + "?" + clusters.toString());
  if (!root.dataset.skipList) {
    var near = new URLSearchParams(filterKey);
    near.set("lon", origin[0].toFixed(6));
    near.set("lat", origin[1].toFixed(6));
    near.set("k", "10");
    prefetch.nearest = get(root.dataset.nearestUrl + "?" + near.toString());
  }
  window.yituPrefetch = prefetch;

  // On a weak signal Leaflet and finder.js arrive seconds after the button is
  // shown: keep a tap on "locate me" made meanwhile (finder.js acts on it).
  var locate = document.getElementById("locate");
  if (locate) {
    locate.addEventListener("click", function early() {
      locate.removeEventListener("click", early);
      if (!window.yituFinderReady) { window.yituEarlyLocate = true; locate.classList.add("busy"); }
    });
  }
})();
