#!/usr/bin/env bash
# Make PostgreSQL available: DATABASE_URL when set, else the local server, else start one.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${DATABASE_URL:-}" ]; then
    exit 0
fi

ready() { pg_isready -q -h 127.0.0.1 -p 5432; }

if ! ready; then
    echo "PostgreSQL is not running on 127.0.0.1:5432; starting it." >&2
    if ls /etc/postgresql/*/main >/dev/null 2>&1; then
        version=$(ls /etc/postgresql | sort -n | tail -1)
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    fi
fi

if ! ready; then
    # No cluster to start: make one in the project folder, run as the postgres user.
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    data="$PWD/.pgdata"
    if [ ! -f "$data/PG_VERSION" ]; then
        mkdir -p "$data" && chown postgres "$data"
        runuser -u postgres -- "$bindir/initdb" -D "$data" -A trust -U postgres >/dev/null
    fi
    runuser -u postgres -- "$bindir/pg_ctl" -D "$data" -l "$data/server.log" \
        -o "-c listen_addresses=127.0.0.1 -c port=5432 -c unix_socket_directories=/tmp" -w start
fi

for _ in $(seq 1 30); do ready && break; sleep 1; done
ready || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }

db=studio_billing
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $db"
fi
