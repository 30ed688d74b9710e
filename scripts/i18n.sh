#!/usr/bin/env bash
# Translations of the web app (Flask-Babel).  English msgids in the code and
# templates; Chinese (the default language) in web/translations/zh.
#
#   scripts/i18n.sh extract   write web/translations/messages.pot from the sources
#   scripts/i18n.sh update    extract, then merge new strings into every .po
#   scripts/i18n.sh compile   compile .po -> .mo (run at set-up: .mo files are not committed)
#   scripts/i18n.sh check     fail when a string has no Chinese translation or is fuzzy
#
# Workflow for a new string: write _("English text") (or N_() for data that is
# translated later), run `scripts/i18n.sh update`, translate the new msgstr in
# web/translations/zh/LC_MESSAGES/messages.po, run `scripts/i18n.sh compile`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
DIR=web/translations
POT="$DIR/messages.pot"

extract() {
  "$PYBABEL" -q extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 -k lazy_gettext -k N_ \
    --no-location --sort-output --omit-header -o "$POT" web
}

case "${1:-}" in
  extract) extract ;;
  update)
    extract
    "$PYBABEL" -q update -i "$POT" -d "$DIR" --no-fuzzy-matching --omit-header
    ;;
  compile) "$PYBABEL" -q compile -d "$DIR" ;;
  check)
    .venv/bin/python - "$DIR" <<'PY'
import sys
from pathlib import Path
from babel.messages.pofile import read_po
bad = []
for po in Path(sys.argv[1]).glob("*/LC_MESSAGES/messages.po"):
    if po.parts[-3] == "en":
        continue
    catalog = read_po(po.open("rb"))
    for m in catalog:
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string))
                     or m.fuzzy):
            bad.append(f"{po}: {m.id!r}")
print("\n".join(bad) or "all strings translated")
sys.exit(1 if bad else 0)
PY
    ;;
  *) echo "usage: $0 extract|update|compile|check" >&2; exit 2 ;;
esac
