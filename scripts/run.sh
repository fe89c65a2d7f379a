#!/usr/bin/env bash
# Runs deskcrm on one machine: the Temporal dev server with its Web UI, Postgres, the Zoho
# emulators (unless real Zoho credentials are configured), the worker, and a first sync.
# Ctrl-C stops everything this script started, and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .data
DATA=$PWD/.data
pids=()

# prefix tags each line of a process's output; processes run as `cmd > >(prefix tag) 2>&1 &`
# so that $! is the process itself, not the tagger.
prefix() { local tag=$1; sed -u "s/^/[$tag] /"; }

cleanup() {
  trap - INT TERM EXIT
  echo "[run] stopping..."
  # Stop in reverse order of start: worker, emulators, Temporal.
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  if [ -n "${PG_STARTED:-}" ]; then pg_ctl_run -D "$DATA/postgres" -m fast -w stop >/dev/null 2>&1 || true; fi
  echo "[run] stopped"
}
trap cleanup EXIT
trap 'exit 0' INT TERM  # the EXIT trap stops everything

wait_port() { # host port name
  for _ in $(seq 1 120); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  echo "[run] $3 did not start listening on $1:$2" >&2
  return 1
}

# --- Payload key ---------------------------------------------------------------------------
# Customer data in workflow history is encrypted. Without a key of yours, the demo makes one
# under .data/ (kept, so that the history of earlier runs still decodes).
if [ -z "${DESKCRM_PAYLOAD_KEY:-}" ] && [ -z "${DESKCRM_PAYLOAD_KEY_FILE:-}" ]; then
  if [ ! -s "$DATA/payload.key" ]; then
    (umask 077; head -c 32 /dev/urandom | base64 > "$DATA/payload.key")
    echo "[run] made a payload key in .data/payload.key"
  fi
  export DESKCRM_PAYLOAD_KEY_FILE="$DATA/payload.key"
fi
CODEC_URL="http://${DESKCRM_HTTP_ADDR:-127.0.0.1:8090}/codec"

# --- Temporal ------------------------------------------------------------------------------
if [ -z "${TEMPORAL_ADDRESS:-}" ]; then
  # The search attributes are registered up front so the first workflow task never races
  # their registration. The UI decodes payloads through the worker's codec server, with the
  # session cookie of a sign-in at $CODEC_URL/login.
  ./bin/temporal-dev server start-dev --ip 127.0.0.1 --port 7233 --http-port 7243 --ui-port 8233 \
    --db-filename "$DATA/temporal.db" --log-level warn \
    --search-attribute DeskcrmState=Keyword --search-attribute DeskcrmMode=Keyword \
    --search-attribute DeskcrmLastSync=Datetime --search-attribute DeskcrmOpenFailures=Int \
    --ui-codec-endpoint "$CODEC_URL" --ui-codec-include-credentials \
    > >(prefix temporal) 2>&1 &
  pids+=($!)
  wait_port 127.0.0.1 7233 "Temporal"
  export TEMPORAL_ADDRESS=127.0.0.1:7233
fi

# --- Postgres ------------------------------------------------------------------------------
if [ -z "${DATABASE_URL:-}" ]; then
  BINDIR=$(pg_config --bindir 2>/dev/null || true)
  if [ ! -x "$BINDIR/initdb" ]; then BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true); fi
  if [ ! -x "$BINDIR/initdb" ]; then
    echo "[run] no PostgreSQL server binaries found: install them with 'apt-get install postgresql', or set DATABASE_URL" >&2
    exit 1
  fi
  as_pg=()
  if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); mkdir -p "$DATA/postgres"; chown postgres "$DATA/postgres"; fi
  pg_ctl_run() { "${as_pg[@]}" "$BINDIR/pg_ctl" "$@"; }
  if [ ! -f "$DATA/postgres/PG_VERSION" ]; then
    "${as_pg[@]}" "$BINDIR/initdb" -D "$DATA/postgres" -U deskcrm --auth=trust -E UTF8 --locale=C >/dev/null
  fi
  pg_ctl_run -D "$DATA/postgres" -o "-p 5433 -k $DATA/postgres -c listen_addresses=127.0.0.1" -l "$DATA/postgres/server.log" -w start >/dev/null
  PG_STARTED=1
  "$BINDIR/psql" -h 127.0.0.1 -p 5433 -U deskcrm -d postgres -tAc "select 1 from pg_database where datname='deskcrm'" | grep -q 1 \
    || "$BINDIR/createdb" -h 127.0.0.1 -p 5433 -U deskcrm deskcrm
  export DATABASE_URL="postgres://deskcrm@127.0.0.1:5433/deskcrm?sslmode=disable"
  echo "[run] postgres on 127.0.0.1:5433 (data in .data/postgres)"
fi

# --- Zoho emulators ------------------------------------------------------------------------
if [ -z "${ZOHO_CLIENT_ID:-}" ]; then
  # The emulators keep their world in .data/emulator (saved on stop and every 30 s), so a
  # second run carries on against the records, ids and links of the first; the seed sizes
  # only apply to a new world (make clean).
  ./bin/emulator --seed-contacts "${DEMO_CONTACTS:-200}" --seed-accounts "${DEMO_ACCOUNTS:-50}" \
    --data-dir "$DATA/emulator" > >(prefix emulator) 2>&1 &
  pids+=($!)
  wait_port 127.0.0.1 8091 "CRM emulator"
  wait_port 127.0.0.1 8092 "Desk emulator"
fi

# --- worker and first sync -----------------------------------------------------------------
./bin/worker > >(prefix worker) 2>&1 &
pids+=($!)
wait_port 127.0.0.1 8090 "worker"
./bin/starter start 2>&1 | prefix starter || true
echo "[run] Temporal UI:  http://127.0.0.1:8233/namespaces/default/workflows/deskcrm-sync-default"
echo "[run] history is encrypted; to see it decoded in the UI, sign in once at $CODEC_URL/login"
if [ -z "${DESKCRM_ADMIN_TOKEN:-}${DESKCRM_ADMIN_TOKEN_FILE:-}" ]; then
  echo "[run]   with the development admin token: deskcrm-dev-admin"
fi
echo "[run] starter in another shell: export DESKCRM_PAYLOAD_KEY_FILE=${DESKCRM_PAYLOAD_KEY_FILE:-<your key file>}"
echo "[run] worker:       http://127.0.0.1:8090/healthz  http://127.0.0.1:8090/metrics"
echo "[run] agent panel:  an agent token from http://127.0.0.1:8092/_emulator/agents/token (README: The agent panel)"
echo "[run] Ctrl-C stops everything"
# Wait until Ctrl-C or until one of the processes exits on its own.
while true; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rc=0
      wait "$pid" 2>/dev/null || rc=$?
      # Ctrl-C reaches the whole process group: a process that stopped on it (0 after a
      # graceful shutdown, 130/143 killed by SIGINT/SIGTERM) is not a failure.
      case $rc in 0|130|143) exit 0 ;; esac
      echo "[run] process $pid exited with status $rc; stopping the rest"
      exit 1
    fi
  done
  sleep 1
done
