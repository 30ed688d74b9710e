/* The finder's map page and embeds: load places per view from the API, filters,
 * "locate me", and the list of nearest places.
 *
 * Safety: every piece of data from the API reaches the page through
 * textContent or Leaflet's setContent(element) -- never innerHTML -- so a
 * hostile station name is shown as text and nothing in it runs.
 *
 * Coordinates: the API speaks WGS-84.  When the tiles are GCJ-02 (Amap,
 * Tencent) everything drawn is shifted with the vendored gcoord library, and
 * the view's box is shifted back before asking the API.
 */
(function () {
  "use strict";

  var root = document.getElementById("finder");
  if (!root) { return; }
  var registry = (window.yituMaps || {})[root.dataset.mapKey];
  if (!registry) { return; }

  var map = registry.map;
  var strings = JSON.parse(document.getElementById("yitu-strings").textContent);
  var isEmbed = root.dataset.embed === "1";
  var CHINA = { west: 73, south: 3, east: 136, north: 54 };
  var form = document.getElementById("filters");
  var list = document.getElementById("nearby-list");
  var listTitle = document.getElementById("list-title");
  var listOrigin = document.getElementById("list-origin");
  var statusNote = document.getElementById("map-status");
  var colours = {};
  (root.dataset.kindCodes || "").split(",").forEach(function (code, i) {
    colours[code] = (root.dataset.colours || "").split(",")[i];
  });

  /* ---------- coordinates ---------- */
  var gcj = registry.tileCrs === "gcj02" && window.gcoord;
  function toDisplay(lon, lat) {
    if (!gcj) { return [lon, lat]; }
    return window.gcoord.transform([lon, lat], window.gcoord.WGS84, window.gcoord.GCJ02);
  }
  function toWgs(lon, lat) {
    if (!gcj) { return [lon, lat]; }
    return window.gcoord.transform([lon, lat], window.gcoord.GCJ02, window.gcoord.WGS84);
  }
  function latLng(lonLat) {
    var d = toDisplay(lonLat[0], lonLat[1]);
    return L.latLng(d[1], d[0]);
  }
  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  function viewBox() {
    var b = map.getBounds();
    var sw = toWgs(b.getWest(), b.getSouth());
    var ne = toWgs(b.getEast(), b.getNorth());
    // GCJ-02 shifts by < 0.01 deg; a small margin keeps edge markers.
    var pad = gcj ? 0.01 : 0;
    return [
      clamp(sw[0] - pad, -180, 180), clamp(sw[1] - pad, -90, 90),
      clamp(ne[0] + pad, -180, 180), clamp(ne[1] + pad, -90, 90)
    ];
  }
  function boxText(box) { return box.map(function (v) { return v.toFixed(5); }).join(","); }

  /* ---------- answers asked for by finder-boot.js before Leaflet ran ---------- */
  var prefetch = window.yituPrefetch || null;
  window.yituPrefetch = null;
  function takePrefetched(part, filters, fits) {
    if (!prefetch || !prefetch[part] || prefetch.filters !== filters.toString() || !fits(prefetch)) {
      return null;
    }
    var answer = prefetch[part];
    prefetch[part] = null;  // only ever for the first view
    return answer;
  }
  function inChina(lon, lat) {
    return lon >= CHINA.west && lon <= CHINA.east && lat >= CHINA.south && lat <= CHINA.north;
  }

  /* ---------- filters ---------- */
  var visibleKinds = {};
  (root.dataset.kinds || "").split(",").forEach(function (k) { if (k) { visibleKinds[k] = true; } });
  Object.keys(registry.layers).forEach(function (kind) {
    if (!visibleKinds[kind]) { map.removeLayer(registry.layers[kind]); }
  });
  map.on("overlayadd overlayremove", function (e) {
    Object.keys(registry.layers).forEach(function (kind) {
      if (registry.layers[kind] === e.layer) { visibleKinds[kind] = e.type === "overlayadd"; }
    });
    refresh();
  });

  function chosenAmenities() {
    if (!form) { return (root.dataset.amenities || "").split(",").filter(Boolean); }
    return Array.prototype.map.call(
      form.querySelectorAll('input[name="amenity"]:checked'), function (i) { return i.value; });
  }
  function openNow() {
    if (!form) { return root.dataset.openNow === "1"; }
    var box = form.querySelector('input[name="open_now"]');
    return Boolean(box && box.checked);
  }
  function filterParams() {
    var p = new URLSearchParams();
    Object.keys(visibleKinds).forEach(function (k) { if (visibleKinds[k]) { p.append("kind", k); } });
    chosenAmenities().forEach(function (a) { p.append("amenity", a); });
    if (openNow()) { p.set("open_now", "1"); }
    return p;
  }
  function noKindVisible() {
    return !Object.keys(visibleKinds).some(function (k) { return visibleKinds[k]; });
  }

  /* ---------- small DOM helpers (text only) ---------- */
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, key) {
      return values[key] !== undefined ? String(values[key]) : m;
    });
  }
  function distanceText(m) {
    if (m < 1000) { return fill(strings.metres, { n: Math.round(m / 10) * 10 }); }
    return fill(strings.km, { n: (m / 1000).toFixed(m < 10000 ? 1 : 0) });
  }
  function kindLabel(code) { return (strings.kinds || {})[code] || code; }
  // English names in the English interface, where the union gave one.
  var english = /^en/.test(document.documentElement.lang || "");
  function placeName(p) { return (english && p.name_en) || p.name; }
  function stateNode(p) {
    var node = el("div", "state");
    if (p.open_now === true) {
      node.classList.add("is-open");
      var words = strings.open;
      if (p.closes_at) { words += " · " + fill(strings.closes_at, { time: p.closes_at }); }
      else if (p.opening_hours === "24/7") { words = strings.open_24_7; }
      node.textContent = words;
    } else if (p.open_now === false) {
      node.classList.add("is-closed");
      var closed = strings.closed;
      if (p.opens_at) { closed += " · " + fill(strings.opens_at, { time: shortTime(p.opens_at) }); }
      node.textContent = closed;
    } else {
      node.classList.add("is-unknown");
      node.textContent = strings.hours_unknown;
    }
    return node;
  }
  function shortTime(iso) {
    // "2025-01-31T09:00:00+08:00" -> "09:00" today, "明天 09:00" tomorrow, else
    // the weekday: a rider plans by days, not by dates.  Days are China's (UTC+8).
    var m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)/.exec(iso || "");
    if (!m) { return iso; }
    var clock = m[4] + ":" + m[5];
    var day = Date.UTC(+m[1], +m[2] - 1, +m[3]);
    var now = new Date(Date.now() + 8 * 3600 * 1000);
    var today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    var ahead = Math.round((day - today) / 86400000);
    if (ahead <= 0) { return clock; }
    if (ahead === 1) { return strings.tomorrow + " " + clock; }
    return strings.weekdays[new Date(day).getUTCDay()] + " " + clock;
  }

  /* ---------- markers ---------- */
  // DOM markers: a view holds at most a few hundred features (clusters), and
  // each is a named, focusable 44 px button.
  function popupFor(p) {
    var box = el("div", "yitu-popup");
    box.appendChild(el("strong", null, placeName(p)));
    box.appendChild(el("span", "kind", kindLabel(p.kind)));
    box.appendChild(stateNode(p));
    if (p.address) { box.appendChild(el("div", "meta", p.address)); }
    if (p.url) {
      var a = el("a", null, strings.details);
      a.href = p.url;
      if (isEmbed) { a.target = "_blank"; a.rel = "noopener"; }
      box.appendChild(a);
    }
    return box;
  }
  function clusterIcon(count, kind) {
    // >= 44 px (a thumb); dark figures on white with the kind's colour as a
    // ring: readable (contrast > 4.5:1) whatever the kind's colour.
    var size = Math.round(44 + Math.min(16, Math.log(count) * 3));
    var node = el("div", "yitu-cluster", count > 9999 ? Math.round(count / 1000) + "k" : count);
    node.style.width = node.style.height = size + "px";   // CSSOM: allowed by the CSP
    node.style.borderColor = colours[kind] || "#495057";
    return L.divIcon({ html: node, className: "", iconSize: [size, size] });
  }
  function named(marker, name) {
    // Leaflet names img icons by `alt`; a divIcon needs its own label.
    marker.on("add", function () {
      var node = marker.getElement();
      if (node) { node.setAttribute("aria-label", name); }
    });
    return marker;
  }
  function drawFeature(f) {
    var p = f.properties;
    var layer = registry.layers[p.kind];
    if (!layer) { return; }
    var at = latLng(f.geometry.coordinates);
    if (p.cluster) {
      var marker = named(L.marker(at, {
        icon: clusterIcon(p.count, p.kind), keyboard: true,
        title: fill(strings.zoom_in, { n: p.count })
      }), fill(strings.zoom_in, { n: p.count }));
      marker.on("click", function () {
        map.setView(at, Math.min(map.getZoom() + 2, map.getMaxZoom()));
      });
      marker.addTo(layer);
      return;
    }
    // A 44 px target around a 22 px dot (WCAG 2.5.8 asks 24, a gloved thumb more).
    var pin = el("span", "pin");
    pin.style.background = colours[p.kind] || "#495057";
    var dot = named(L.marker(at, {
      icon: L.divIcon({ html: pin, className: "yitu-place yitu-place-" + p.id, iconSize: [44, 44] }),
      keyboard: true, riseOnHover: true
    }), placeName(p) + " · " + kindLabel(p.kind));
    // Pan the popup clear of the zoom buttons (top left) and the locate button.
    dot.bindPopup(function () { return popupFor(p); }, {
      maxWidth: 280, autoPanPaddingTopLeft: L.point(64, 16), autoPanPaddingBottomRight: L.point(16, 64)
    });
    dot.bindTooltip(function () { return el("span", null, placeName(p)); });
    dot.feature = f;
    dot.addTo(layer);
  }

  // Server cells are a grid, so two bubbles in neighbouring cells can still
  // touch on screen.  Fold each feature that would overlap a bigger one into
  // it (largest first): no bubble hides another, and a tap always lands on
  // one.  Sizes follow clusterIcon (44 px for a single place).
  function bubble(count) { return count > 1 ? Math.round(44 + Math.min(16, Math.log(count) * 3)) : 44; }
  function apart(features) {
    var kept = [];
    features.slice().sort(function (a, b) {
      return (b.properties.count || 1) - (a.properties.count || 1);
    }).forEach(function (f) {
      var pt = map.latLngToContainerPoint(latLng(f.geometry.coordinates));
      var n = f.properties.count || 1;
      for (var i = 0; i < kept.length; i += 1) {
        var k = kept[i];
        if (pt.distanceTo(k.pt) < (bubble(n) + bubble(k.count)) / 2) {
          k.count += n;
          return;
        }
      }
      kept.push({ f: f, pt: pt, count: n });
    });
    return kept.map(function (k) {
      if (k.count === (k.f.properties.count || 1)) { return k.f; }
      var props = { cluster: true, count: k.count, kind: k.f.properties.kind };
      return { type: "Feature", geometry: k.f.geometry, properties: props };
    });
  }

  /* ---------- loading ---------- */
  var pending = {};
  function fetchJson(key, url) {
    if (pending[key]) { pending[key].abort(); }
    var controller = new AbortController();
    pending[key] = controller;
    return fetch(url, { signal: controller.signal, headers: { Accept: "application/geo+json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      });
  }
  function note(text) { if (statusNote) { statusNote.textContent = text || ""; } }

  var loadedOnce = { map: false, list: false };
  function markReady(part) {
    loadedOnce[part] = true;
    if (loadedOnce.map && (loadedOnce.list || !list) && !document.body.dataset.ready) {
      document.body.dataset.ready = "1";
      if (window.performance && performance.mark) { performance.mark("yitu-interactive"); }
    }
  }

  // A popup's auto-pan moves the map; reloading then would remove the marker
  // and close the popup it just opened.  While a popup is open the markers
  // stay, and are reloaded when it closes.
  var popupOpen = false;
  var markersStale = false;
  map.on("popupopen", function () { popupOpen = true; });
  map.on("popupclose", function () {
    popupOpen = false;
    if (markersStale) { markersStale = false; loadMarkers(); }
  });

  function loadMarkers() {
    if (popupOpen) { markersStale = true; return Promise.resolve(); }
    Object.keys(registry.layers).forEach(function (k) { registry.layers[k].clearLayers(); });
    if (noKindVisible()) { markReady("map"); return Promise.resolve(); }
    var p = filterParams();
    var box = viewBox();
    var early = takePrefetched("clusters", p, function (pre) {
      return pre.zoom === map.getZoom() && pre.box[0] <= box[0] && pre.box[1] <= box[1] &&
        pre.box[2] >= box[2] && pre.box[3] >= box[3];
    });
    p.set("bbox", boxText(box));
    p.set("zoom", String(map.getZoom()));
    var url = root.dataset.clustersUrl + "?" + p.toString();
    var answer = early ? early.then(function (body) { return body || fetchJson("markers", url); })
      : fetchJson("markers", url);
    return answer
      .then(function (body) {
        if (popupOpen) { markersStale = true; return; }
        Object.keys(registry.layers).forEach(function (k) { registry.layers[k].clearLayers(); });
        apart(body.features).forEach(drawFeature);
        note(body.features.length ? "" : strings.no_places);
        root.dataset.markers = String(body.features.length);
        // A counter of rendered views: lets tests and benchmarks wait for a reload.
        root.dataset.loads = String(Number(root.dataset.loads || 0) + 1);
        markReady("map");
      })
      .catch(function (err) { if (err.name !== "AbortError") { note(strings.load_failed); } });
  }

  var userPosition = null;  // WGS-84 [lon, lat] from the browser
  var searchQuery = "";
  // A searched district/city (no location): {lon, lat, label}, WGS-84.
  var searchOrigin = null;

  function listItem(f) {
    var p = f.properties;
    var li = el("li", "nearby-item");
    li.dataset.id = p.id;
    var a = el("a");
    a.href = p.url;
    if (isEmbed) { a.target = "_blank"; a.rel = "noopener"; }
    var dot = el("span", "dot kind-" + p.kind);
    a.appendChild(dot);
    a.appendChild(el("strong", null, placeName(p)));
    li.appendChild(a);
    li.appendChild(el("span", "kind", kindLabel(p.kind)));
    if (p.is_demo) { li.appendChild(el("span", "demo-tag", strings.demo)); }
    if (p.distance_m !== undefined) {
      var facts = el("div", "facts");
      facts.appendChild(el("span", "distance", distanceText(p.distance_m)));
      facts.appendChild(document.createTextNode(" · "));
      facts.appendChild(el("span", "walk", fill(strings.walk, { min: p.walk_min })));
      facts.appendChild(document.createTextNode(" · "));
      facts.appendChild(el("span", "ride", fill(strings.ride, { min: p.ride_min })));
      li.appendChild(facts);
    }
    li.appendChild(stateNode(p));
    if (p.address) { li.appendChild(el("div", "meta", p.address)); }
    // The whole card is the link (CSS stretches it): one big target.
    return li;
  }
  function showList(features, emptyText) {
    if (!list) { return; }
    list.textContent = "";
    if (!features.length) { list.appendChild(el("li", "empty", emptyText)); }
    features.forEach(function (f) { list.appendChild(listItem(f)); });
  }

  // The map follows the list: when the nearest result is out of view (filters
  // left nothing here), move so that it and the origin are both shown.  Such a
  // move reloads the markers only, not the list it came from.
  var followingList = false;
  function followList(features, origin) {
    if (!features.length || isEmbed) { return; }
    var first = latLng(features[0].geometry.coordinates);
    if (map.getBounds().contains(first)) { return; }
    var box = L.latLngBounds([first, first]);
    if (origin) { box.extend(latLng(origin)); }
    followingList = true;
    map.fitBounds(box.pad(0.25), { maxZoom: Math.max(map.getZoom(), 15), animate: false });
  }

  function loadList() {
    if (!list) { return Promise.resolve(); }
    var p = filterParams();
    if (searchQuery) {
      p.set("q", searchQuery);
      p.set("limit", "20");
      listTitle.textContent = strings.search_results;
      listOrigin.textContent = "";
      return fetchJson("list", root.dataset.searchUrl + "?" + p.toString())
        .then(function (body) {
          showList(body.features, strings.no_results);
          followList(body.features, null);
          markReady("list");
        })
        .catch(function (err) { if (err.name !== "AbortError") { showList([], strings.load_failed); } });
    }
    var origin = userPosition || (searchOrigin && [searchOrigin.lon, searchOrigin.lat]);
    if (!origin) {
      var c = map.getCenter();
      origin = toWgs(c.lng, c.lat);
    }
    listOrigin.textContent = userPosition ? strings.near_you
      : searchOrigin ? fill(strings.near_place, { place: searchOrigin.label }) : strings.near_centre;
    if (noKindVisible() || !inChina(origin[0], origin[1])) {
      showList([], strings.no_places);
      markReady("list");
      return Promise.resolve();
    }
    var early = (userPosition || searchOrigin) ? null : takePrefetched("nearest", p, function (pre) {
      // The same centre to within a metre: the same nearest places.
      return Math.abs(pre.origin[0] - origin[0]) < 1e-5 && Math.abs(pre.origin[1] - origin[1]) < 1e-5;
    });
    p.set("lon", origin[0].toFixed(6));
    p.set("lat", origin[1].toFixed(6));
    p.set("k", "10");
    var url = root.dataset.nearestUrl + "?" + p.toString();
    var answer = early ? early.then(function (body) { return body || fetchJson("list", url); })
      : fetchJson("list", url);
    return answer
      .then(function (body) {
        showList(body.features, strings.no_places);
        followList(body.features, origin);
        markReady("list");
      })
      .catch(function (err) { if (err.name !== "AbortError") { keepList(); } });
  }
  // No answer (signal lost): keep the list already shown, and say so,
  // rather than wiping what the rider was reading.
  function keepList() {
    if (list.querySelector(".nearby-item")) { note(strings.load_failed); }
    else { showList([], strings.load_failed); }
  }

  function remember() {
    if (isEmbed || !window.history.replaceState) { return; }
    var p = filterParams();
    if (Object.keys(registry.layers).every(function (k) { return visibleKinds[k]; })) {
      p.delete("kind");
    }
    var c = map.getCenter();
    var w = toWgs(c.lng, c.lat);
    p.set("lon", w[0].toFixed(5));
    p.set("lat", w[1].toFixed(5));
    p.set("zoom", String(map.getZoom()));
    if (searchQuery) { p.set("q", searchQuery); }
    window.history.replaceState(null, "", "?" + p.toString());
  }

  var timer = null;
  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      loadMarkers();
      loadList();
      remember();
    }, 150);
  }
  map.on("moveend", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      loadMarkers();
      if (!userPosition && !searchQuery && !searchOrigin && !followingList) { loadList(); }
      followingList = false;
      remember();
    }, 200);
  });

  /* ---------- controls ---------- */
  if (form) {
    form.addEventListener("change", function (e) {
      if (e.target.name === "amenity" || e.target.name === "open_now") {
        var chip = e.target.closest(".chip");
        if (chip) { chip.classList.toggle("is-on", e.target.checked); }
        refresh();
      }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var q = form.querySelector('input[name="q"]');
      search((q && q.value.trim()) || "");
    });
    var q = form.querySelector('input[name="q"]');
    if (q) {
      searchQuery = q.value.trim();
      q.addEventListener("search", function () {
        if (!q.value.trim()) { searchQuery = ""; searchOrigin = null; loadList(); remember(); }
      });
    }
  }

  // A search is first tried as a place to measure from (a district, city or
  // province of China: "search a place" for a rider without location), then
  // as a station name or address.
  function search(text) {
    searchOrigin = null;
    searchQuery = "";
    if (!text) {
      listTitle.textContent = strings.nearest || listTitle.textContent;
      loadList();
      remember();
      return;
    }
    fetch(root.dataset.whereUrl + "?q=" + encodeURIComponent(text))
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; })
      .then(function (area) {
        if (area && area.found && !userPosition) {
          searchOrigin = { lon: area.lon, lat: area.lat, label: area.label };
          if (helpBox) { helpBox.hidden = true; }
          listTitle.textContent = strings.nearest || listTitle.textContent;
          var sw = latLng([area.bbox[0], area.bbox[1]]);
          var ne = latLng([area.bbox[2], area.bbox[3]]);
          followingList = true;
          map.fitBounds(L.latLngBounds(sw, ne), { animate: false });
        } else {
          searchQuery = text;
        }
        loadList();
        remember();
      });
  }
  var helpBox = document.getElementById("locate-help");
  function showLocateHelp() {
    if (helpBox) { helpBox.hidden = false; }
  }
  var searchPlace = document.getElementById("search-place");
  if (searchPlace && form) {
    searchPlace.addEventListener("click", function () {
      var input = form.querySelector('input[name="q"]');
      if (input) { input.focus(); input.select(); }
    });
  }

  var you = null;
  var locate = document.getElementById("locate");
  var keepView = false;  // a shared link's view is kept when locating by itself
  function startLocate() {
    if (locate) { locate.classList.add("busy"); }
    map.locate({ setView: false, enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  }
  if (locate) {
    locate.addEventListener("click", function () { keepView = false; startLocate(); });
  }
  if (window.yituEarlyLocate) {
    // Tapped before this script arrived (finder-boot.js kept the tap).
    window.yituEarlyLocate = false;
    startLocate();
  } else if (!isEmbed && navigator.permissions && navigator.permissions.query) {
    // Permission already granted: use the position at once, no tap needed.
    navigator.permissions.query({ name: "geolocation" }).then(function (status) {
      if (status.state === "granted") {
        keepView = /[?&]lon=/.test(window.location.search);
        startLocate();
      } else if (status.state === "denied") {
        showLocateHelp();
      }
    }).catch(function () { /* no Permissions API for geolocation: wait for a tap */ });
  }
  map.on("locationfound", function (e) {
    if (locate) { locate.classList.remove("busy"); }
    // The browser reports WGS-84; draw it in the tiles' system.
    userPosition = [e.latlng.lng, e.latlng.lat];
    // Kept for place pages (distance from the rider without a second prompt).
    try {
      window.sessionStorage.setItem("yitu.position",
        JSON.stringify({ lon: userPosition[0], lat: userPosition[1], at: Date.now() }));
    } catch (err) { /* storage off: place pages ask again */ }
    var at = latLng(userPosition);
    if (you) { map.removeLayer(you); }
    you = L.marker(at, {
      icon: L.divIcon({ className: "yitu-you", iconSize: [18, 18] }),
      title: strings.you_are_here, keyboard: false, interactive: false
    }).addTo(map);
    searchQuery = "";
    searchOrigin = null;
    if (helpBox) { helpBox.hidden = true; }
    if (!keepView) { map.setView(at, Math.max(map.getZoom(), 15)); }
    loadList();
  });
  map.on("locationerror", function () {
    if (locate) { locate.classList.remove("busy"); }
    note(strings.locate_failed);
    showLocateHelp();
    userPosition = null;
    loadList();
  });

  /* ---------- tiles may be unreachable: the page stays usable ---------- */
  var tileErrors = 0;
  var tileLoads = 0;
  var tilesDown = document.getElementById("tiles-down");
  if (registry.tiles) {
    registry.tiles.on("tileerror", function () {
      tileErrors += 1;
      if (tilesDown && tileLoads === 0 && tileErrors >= 2) { tilesDown.hidden = false; }
    });
    registry.tiles.on("tileload", function () {
      tileLoads += 1;
      if (tilesDown) { tilesDown.hidden = true; }
    });
  }

  /* ---------- offline: a service worker keeps the shell and the last answers ---------- */
  if (!isEmbed && "serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      // What this first visit loaded before the worker was in control.
      var own = performance.getEntriesByType("resource").map(function (e) { return e.name; })
        .filter(function (u) { return u.indexOf(window.location.origin + "/") === 0; });
      own.push(window.location.href);
      if (reg.active) { reg.active.postMessage({ cache: own }); }
      root.dataset.offlineReady = "1";
    }).catch(function () { /* no worker: the page works online as before */ });
  }

  window.yituFinderReady = true;
  loadMarkers();
  if (searchQuery) { search(searchQuery); } else { loadList(); }
})();
