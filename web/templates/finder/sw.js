/* Yitu's service worker (served at /sw.js so that its scope is the whole site).
 *
 * Our own rather than Workbox: what it does fits in this file (precache the
 * app shell, cache-first for content-hashed files, network-first with a cached
 * fallback for pages and API answers), it needs no build step to learn the
 * hashed file names (the server writes them in below), and it keeps the
 * CSP's script-src 'self' without a 20 KB runtime to vendor and audit.
 *
 * Version {{ version }}: a new list of files gives a new worker, which drops
 * the old caches when it takes over.
 */
"use strict";

var SHELL = "yitu-shell-{{ version }}";
var DATA = "yitu-data-v1";
var PRECACHE = {{ precache|tojson }};

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) {
    return cache.addAll(PRECACHE);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf("yitu-shell-") === 0 && n !== SHELL;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

// The page tells us what it loaded before this worker was in control (map
// script, API answers): kept, so that the same view opens offline.
self.addEventListener("message", function (event) {
  var urls = (event.data && event.data.cache) || [];
  event.waitUntil(caches.open(DATA).then(function (cache) {
    return Promise.all(urls.map(function (u) {
      return cache.match(u).then(function (hit) { return hit || cache.add(u).catch(function () {}); });
    }));
  }));
});

function networkFirst(request, fallbackKey) {
  return fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(DATA).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request, { ignoreVary: true }).then(function (hit) {
      if (hit) { return hit; }
      if (fallbackKey) { return caches.match(fallbackKey, { ignoreSearch: true }); }
      return Response.error();
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }  // tiles: the browser's own cache
  if (/^\/static\/.+\.[0-9a-f]{12}\.\w+$/.test(url.pathname)) {
    // Content-hashed: never changes, so the cache answers first.
    event.respondWith(caches.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        var copy = response.clone();
        if (response.ok) { caches.open(SHELL).then(function (c) { c.put(request, copy); }); }
        return response;
      });
    }));
    return;
  }
  if (request.mode === "navigate") {
    // Offline, any finder view opens from the cached page (the map and list
    // load from the cached answers).
    var page = url.pathname.indexOf("/places/") === 0 ? null : "/";
    event.respondWith(networkFirst(request, page));
    return;
  }
  if (url.pathname.indexOf("/maps/") === 0) {
    event.respondWith(networkFirst(request, url.pathname));
    return;
  }
  if (url.pathname.indexOf("/api/v1/places") === 0 || url.pathname === "/where.json") {
    event.respondWith(networkFirst(request, null));
  }
});
