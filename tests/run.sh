#!/usr/bin/env bash
# Sets up and runs every test: on the embedded default (SQLite), then on PostgreSQL with Redis.
# Usage: bash tests/run.sh [pytest args]
# PostgreSQL and Redis are taken from VIGIL_TEST_PG_URL / VIGIL_TEST_REDIS_URL (defaults: the
# local servers); when they are not reachable that run is skipped, except in CI (CI=true),
# where anything missing is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
PG_URL=${VIGIL_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
REDIS_URL=${VIGIL_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}

step() { printf '\n== %s\n' "$*"; }

if [ ! -x .venv/bin/python ]; then
  step "creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
step "installing Vigil and its test dependencies"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

# Debian packages the tests drive: a real Alertmanager (end-to-end intake), Chromium (console
# tests in a real browser) and libfaketime (end-to-end SLA warnings on a clock the test moves).
# Installed when we can (root with apt-get); otherwise those tests skip with a note, except in CI
# where a missing one fails.
packages=()
command -v prometheus-alertmanager >/dev/null 2>&1 || packages+=(prometheus-alertmanager)
[ -x /usr/bin/chromium ] || packages+=(chromium fonts-dejavu-core)
compgen -G '/usr/lib/*/faketime/libfaketime.so.1' >/dev/null || packages+=(faketime)
if ((${#packages[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing ${packages[*]} (Debian) for the end-to-end and browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  else
    echo "note: not installed: ${packages[*]}; the tests that drive them will be skipped" \
         "(sudo apt-get install ${packages[*]})"
  fi
fi

reachable() {  # host port
  .venv/bin/python - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError:
    sys.exit(1)
PY
}

step "test suite on the embedded default (SQLite, embedded broker)"
env -u VIGIL_TEST_DATABASE_URL -u VIGIL_TEST_BROKER_URL .venv/bin/python -m pytest "$@"

pg_host_port=$(.venv/bin/python -c "from sqlalchemy.engine import make_url as m; u=m('$PG_URL'); print(u.host or '127.0.0.1', u.port or 5432)")
redis_host_port=$(.venv/bin/python -c "from urllib.parse import urlsplit as s; u=s('$REDIS_URL'); print(u.hostname, u.port or 6379)")
if reachable $pg_host_port && reachable $redis_host_port; then
  # The browser tests drive the same console pages the Flask-client console tests cover on both
  # databases; running them once (SQLite pass) keeps the whole suite under 15 minutes.
  step "test suite on PostgreSQL ($PG_URL) with Redis ($REDIS_URL), browser tests left to the first pass"
  VIGIL_TEST_DATABASE_URL=$PG_URL VIGIL_TEST_BROKER_URL=$REDIS_URL .venv/bin/python -m pytest -m "not browser" "$@"
elif [ "${CI:-}" = true ]; then
  echo "CI: PostgreSQL ($pg_host_port) or Redis ($redis_host_port) is not reachable" >&2
  exit 1
else
  echo "note: PostgreSQL or Redis not reachable; skipped the PostgreSQL + Redis run"
fi
