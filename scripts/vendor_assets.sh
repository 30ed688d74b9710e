#!/usr/bin/env bash
# Reproduce web/static/vendor/ from the npm registry.
#
# Front-end libraries are vendored (copied into the repository) so that every
# page works offline and the Content-Security-Policy can stay
# `default-src 'self'` plus the tile host: no CDN request, ever.
#
# Usage: scripts/vendor_assets.sh          # re-copy the pinned versions
#        LEAFLET_VERSION=1.9.5 scripts/vendor_assets.sh   # update one library
# Then: run tests/web/test_vendor.py and tests/browser, update the versions in
# web/static/vendor/README.md and web/maps.py (VENDOR_* constants) if they
# changed, and commit the result.
set -euo pipefail

LEAFLET_VERSION="${LEAFLET_VERSION:-1.9.4}"
GCOORD_VERSION="${GCOORD_VERSION:-1.0.7}"
TABLER_VERSION="${TABLER_VERSION:-3.51.0}"

# Icons: symbol id in the sprite -> Tabler outline icon name.  "a-<code>" for
# each amenity code of geo/places/vocabulary.py (tests/web/test_vendor.py checks that every
# amenity has one), "ui-<name>" for the page's own buttons.
ICONS="
a-water:droplet a-hot_water:mug a-microwave:microwave a-charging:device-mobile-charging
a-toilet:toilet-paper a-seating:armchair a-heating:flame a-cooling:air-conditioning
a-shower:bath a-first_aid:first-aid-kit a-wifi:wifi a-reading:books a-umbrella:umbrella
a-battery_swap:battery-charging a-women_room:woman a-meals:tools-kitchen-2 a-fridge:fridge
a-repair:tool a-legal_aid:scale a-job_notices:briefcase
ui-locate:current-location ui-pin:map-pin ui-clock:clock ui-walk:walk ui-bike:bike
ui-navigate:navigation ui-search:search ui-list:list ui-check:check ui-phone:phone
ui-calendar:calendar-check ui-external:external-link ui-x:x
"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendor="$here/web/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm init -y >/dev/null
# --ignore-scripts: nothing from the registry runs on this machine; npm checks
# each tarball against the registry's integrity hash while installing.
npm install --no-audit --no-fund --ignore-scripts --save-exact \
    "leaflet@${LEAFLET_VERSION}" "gcoord@${GCOORD_VERSION}" \
    "@tabler/icons@${TABLER_VERSION}" >/dev/null

rm -rf "$vendor/leaflet-"* "$vendor/gcoord-"* "$vendor/tabler-icons-"*
mkdir -p "$vendor"

dst="$vendor/leaflet-${LEAFLET_VERSION}"
mkdir -p "$dst/images"
cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css "$dst/"
cp node_modules/leaflet/dist/images/*.png "$dst/images/"
cp node_modules/leaflet/LICENSE "$dst/LICENSE"
# The source map is 225 KB that only a developer's devtools would fetch; drop
# the reference to it instead of shipping it.
sed -i '/^\/\/# sourceMappingURL=/d' "$dst/leaflet.js"

dst="$vendor/gcoord-${GCOORD_VERSION}"
mkdir -p "$dst"
cp node_modules/gcoord/dist/gcoord.global.prod.js "$dst/gcoord.js"
cp node_modules/gcoord/LICENSE "$dst/LICENSE"

# One SVG sprite of <symbol>s (used as <svg><use href="...#a-water"/></svg>)
# instead of 5,000 icon files or an icon font: one small same-origin request.
dst="$vendor/tabler-icons-${TABLER_VERSION}"
mkdir -p "$dst"
cp node_modules/@tabler/icons/LICENSE "$dst/LICENSE"
ICONS="$ICONS" node - "$dst/icons.svg" <<'JS'
const fs = require("fs");
const out = process.argv[2];
const pairs = process.env.ICONS.trim().split(/\s+/).map((p) => p.split(":"));
const symbols = pairs.map(([id, name]) => {
  const svg = fs.readFileSync(`node_modules/@tabler/icons/icons/outline/${name}.svg`, "utf8");
  const body = svg.replace(/^[\s\S]*?>/, "").replace(/<\/svg>\s*$/, "").replace(/\s+/g, " ").trim();
  return `<symbol id="${id}" viewBox="0 0 24 24" fill="none" stroke="currentColor" ` +
    `stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${body}</symbol>`;
});
fs.writeFileSync(out, `<svg xmlns="http://www.w3.org/2000/svg">\n${symbols.join("\n")}\n</svg>\n`);
JS

cp package-lock.json "$vendor/package-lock.json"
(cd "$vendor" && find . -type f ! -name SHA256SUMS ! -name README.md ! -name package-lock.json \
    | LC_ALL=C sort | xargs sha256sum > SHA256SUMS)
echo "vendored leaflet ${LEAFLET_VERSION}, gcoord ${GCOORD_VERSION}, tabler icons ${TABLER_VERSION} into ${vendor}"
