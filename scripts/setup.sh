#!/usr/bin/env bash
# Set up everything Yitu needs on a Debian machine, idempotently.
#   scripts/setup.sh app    system packages, virtualenv, database, migrations, demo data
#   scripts/setup.sh test   the same minus the demo load, plus Chromium and test packages
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-app}"
PG_MAJOR="${YITU_PG_MAJOR:-15}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
VENV=.venv

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[setup] %s\033[0m\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run: $* (install sudo or run as root)"; fi
}

APT_UPDATED=""
apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found: install $* with your system's package manager"
  if [ -z "$APT_UPDATED" ]; then say "apt-get update"; as_root apt-get update -qq; APT_UPDATED=1; fi
  say "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

system_packages() {
  local wanted=()
  ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 \
    || wanted+=("postgresql-${PG_MAJOR}-postgis-3")
  command -v pg_isready >/dev/null || wanted+=("postgresql-client-${PG_MAJOR}")
  if [ "$MODE" = test ]; then
    [ -x /usr/bin/chromium ] || wanted+=(chromium)
    # CJK fonts so screenshots show Chinese; wrk for the nearest-API load benchmark.
    ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1 || wanted+=(fonts-noto-cjk)
    command -v wrk >/dev/null || wanted+=(wrk)
    command -v pg_dump >/dev/null || wanted+=("postgresql-client-${PG_MAJOR}")
    # zbar, the QR decoder the poster tests read codes back with (through pyzbar).
    ls /usr/lib/*/libzbar.so.0 >/dev/null 2>&1 || wanted+=(libzbar0)
    # GDAL's own command-line tools: the open-data tests read /ogc with the OAPIF driver.
    command -v ogr2ogr >/dev/null || wanted+=(gdal-bin)
  fi
  if [ "${#wanted[@]}" -gt 0 ]; then apt_install "${wanted[@]}"; fi
}

database_server() {
  # Host and port from YITU_DATABASE_URL when it names them; else the default.
  local host port
  host=$(YITU_URL="${YITU_DATABASE_URL:-}" "$PYTHON" - <<'PY'
import os, urllib.parse as u
url = os.environ["YITU_URL"] or "postgresql://127.0.0.1:5432/yitu"
p = u.urlsplit(url.replace("+psycopg", ""))
print((p.hostname or "/var/run/postgresql"), p.port or 5432)
PY
)
  port=${host#* }; host=${host% *}
  if pg_isready -q -h "$host" -p "$port"; then return; fi
  if command -v pg_ctlcluster >/dev/null && [ -d "/etc/postgresql/${PG_MAJOR}/main" ]; then
    say "starting the Debian PostgreSQL ${PG_MAJOR} cluster"
    as_root pg_ctlcluster --skip-systemctl-redirect "${PG_MAJOR}" main start || true
    for _ in $(seq 1 20); do pg_isready -q -h "$host" -p "$port" && return; sleep 0.5; done
  fi
  die "no PostgreSQL server answers at ${host}:${port}.
  Fix: install and start one (apt-get install postgresql-${PG_MAJOR} postgresql-${PG_MAJOR}-postgis-3;
  pg_ctlcluster ${PG_MAJOR} main start), create a role for $(id -un) (createuser -s $(id -un) as postgres),
  or point YITU_DATABASE_URL at a server you have, e.g. postgresql+psycopg://user:pass@host:5432/yitu"
}

python_packages() {
  [ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
  local extra="" stamp
  [ "$MODE" = test ] && extra="[test]"
  stamp="$VENV/.installed-$(cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)${extra:+-test}"
  if [ ! -f "$stamp" ]; then
    say "installing Python packages (pinned by constraints.txt)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".${extra}"
    touch "$stamp"
  fi
  if [ -d web/translations ]; then "$VENV/bin/pybabel" -q compile -d web/translations; fi
}

system_packages
database_server
python_packages
if [ "$MODE" = app ]; then
  "$VENV/bin/yitu" db upgrade
  "$VENV/bin/yitu" demo load --if-empty
  "$VENV/bin/yitu" demo activity --if-empty
  "$VENV/bin/yitu" export snapshot --if-missing   # the /data downloads
fi
say "ready"
