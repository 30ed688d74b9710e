/* Draws the shapes of a server-rendered map from JSON data (web/maps.py).
 *
 * Why data and not folium elements: branca compiles each folium macro's
 * output as a Jinja2 template on the server, so user text inside a folium
 * Tooltip or Popup would be evaluated there.  The server therefore sends
 * markers and shapes as one JSON literal after the folium script, and this
 * file turns them into Leaflet layers.  Tooltip and popup strings are HTML
 * that the server built from escaped pieces only (web.escape.safe_text).
 *
 * Coordinates arrive as [lat, lon] already in the tiles' system.
 */
(function () {
  "use strict";

  var FACTORIES = {
    circleMarker: function (f) { return L.circleMarker(f.at, f.options); },
    circle: function (f) { return L.circle(f.at, f.options); },
    polygon: function (f) { return L.polygon(f.at, f.options); },
    polyline: function (f) { return L.polyline(f.at, f.options); }
  };

  window.yituDrawData = function (key, data) {
    var entry = (window.yituMaps || {})[key];
    if (!entry) { return; }
    data.features.forEach(function (f) {
      var make = FACTORIES[f.shape];
      if (!make) { return; }
      var shape = make(f);
      if (f.tooltip) { shape.bindTooltip(f.tooltip); }
      if (f.popup) { shape.bindPopup(f.popup, { maxWidth: f.popupMaxWidth }); }
      shape.addTo((f.layer && entry.layers[f.layer]) || entry.map);
    });
  };
}());
