#!/usr/bin/env bash
# Installs what deskcrm needs beyond Go, so that `make run` and `make test` work on a fresh
# Debian or Ubuntu machine. `make run` runs `setup.sh run`, `make test` runs `setup.sh test`.
#
#   setup.sh run    CA certificates (for the Go module proxy) and the PostgreSQL server
#                   binaries (skipped when DATABASE_URL is set)
#   setup.sh test   the same, plus Chromium (the agent panel's browser test; skipped when
#                   CHROMIUM_PATH is set), a C compiler (go test -race), Node.js >= 14.21.3 and
#                   npm, and Zoho's official CRM Node SDK, pinned by
#                   conformance/crmsdk/package-lock.json, into the git-ignored
#                   conformance/crmsdk/node_modules (the SDK conformance test)
#   setup.sh all    both (the default)
#
# Idempotent and quiet when everything is in place; it never removes, upgrades or
# reconfigures anything already installed. When something is missing it installs it with
# apt-get if run as root; otherwise it stops and prints the exact command to run.
#
# DESKCRM_SETUP_PG_GLOB (default /usr/lib/postgresql/*/bin/initdb, after pg_config --bindir)
# is where the PostgreSQL check looks; scripts/setup_test.go points it elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-all}
case $mode in
  run | test | all) ;;
  *) echo "usage: scripts/setup.sh [run|test|all]" >&2; exit 2 ;;
esac

say() { echo "setup: $*"; }
die() { echo "setup: $*" >&2; exit 1; }
# joined "a" "b c" prints "a; b c".
joined() { local out="" x; for x in "$@"; do out+="${out:+; }$x"; done; echo "$out"; }

# --- checks: each prints nothing and succeeds when the thing is in place ----------------------

have_certs() { [ -s /etc/ssl/certs/ca-certificates.crt ]; }

have_postgres() {
  local glob=${DESKCRM_SETUP_PG_GLOB:-}
  if [ -z "$glob" ]; then
    local bindir
    bindir=$(pg_config --bindir 2>/dev/null || true)
    if [ -n "$bindir" ] && [ -x "$bindir/initdb" ]; then return 0; fi
    glob='/usr/lib/postgresql/*/bin/initdb'
  fi
  local f
  for f in $glob; do
    if [ -x "$f" ]; then return 0; fi
  done
  return 1
}

# The same names, in the same order, as panel/browser_test.go looks for.
have_chromium() {
  if [ -n "${CHROMIUM_PATH:-}" ]; then return 0; fi
  local n
  for n in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$n" >/dev/null 2>&1; then return 0; fi
  done
  return 1
}

have_cc() { command -v "${CC:-gcc}" >/dev/null 2>&1; }

# --- what is missing, as Debian package names ---------------------------------------------------

os_id=$( (. /etc/os-release 2>/dev/null && echo "${ID:-}") || true)
chromium_pkg=chromium
if [ "$os_id" = ubuntu ]; then chromium_pkg=chromium-browser; fi

pkgs=()   # Debian packages to install
what=()   # the same, in words, for machines without apt-get
have_certs || { pkgs+=(ca-certificates); what+=("CA certificates"); }
if [ -z "${DATABASE_URL:-}" ] && ! have_postgres; then
  pkgs+=(postgresql); what+=("the PostgreSQL server binaries (initdb, pg_ctl, postgres)")
fi
if [ "$mode" != run ]; then
  have_chromium || { pkgs+=("$chromium_pkg"); what+=("Chromium (or set CHROMIUM_PATH)"); }
  have_cc || { pkgs+=(gcc libc6-dev); what+=("a C compiler (go test -race needs cgo)"); }
  command -v node >/dev/null 2>&1 || { pkgs+=(nodejs); what+=("Node.js >= 14.21.3"); }
  command -v npm >/dev/null 2>&1 || { pkgs+=(npm); what+=("npm"); }
fi

if [ ${#pkgs[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    die "missing: $(joined "${what[@]}"). This machine has no apt-get: install them with its package manager, then run make again"
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing: ${pkgs[*]}. Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${pkgs[*]}" >&2
    echo "setup: then run make again (or run make as root, and it installs them itself)" >&2
    exit 1
  fi
  say "installing ${pkgs[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed; rerun by hand: apt-get update && apt-get install -y ${pkgs[*]}"
  # --no-upgrade: a package that is installed already (its check looked elsewhere) keeps its
  # version.
  apt-get install -y -qq --no-upgrade "${pkgs[@]}" >/dev/null || die "apt-get install failed; rerun by hand: apt-get install -y ${pkgs[*]}"
  # Check again: a package that installs but does not provide what the check looks for (a
  # different layout, a snap stub) must not pass silently.
  still=()
  have_certs || still+=("CA certificates")
  if [ -z "${DATABASE_URL:-}" ] && ! have_postgres; then still+=("PostgreSQL server binaries"); fi
  if [ "$mode" != run ]; then
    have_chromium || still+=("Chromium (set CHROMIUM_PATH to a Chromium or Chrome binary)")
    have_cc || still+=("a C compiler")
    command -v node >/dev/null 2>&1 || still+=("node")
    command -v npm >/dev/null 2>&1 || still+=("npm")
  fi
  if [ ${#still[@]} -gt 0 ]; then
    die "still missing after apt-get install ${pkgs[*]}: $(joined "${still[@]}")"
  fi
  say "installed ${pkgs[*]}"
fi

[ "$mode" = run ] && exit 0

# --- the pinned Zoho CRM Node SDK ---------------------------------------------------------------

sdk_dir=conformance/crmsdk
# The SDK's README asks for Node.js 14.21.3 or later.
min_node_major=14
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt "$min_node_major" ]; then
  die "node $(node --version) is too old; the CRM SDK needs Node.js >= 14.21.3 (https://github.com/nodesource/distributions)"
fi
# npm ci only when the lock file changed since the last install.
stamp=$sdk_dir/node_modules/.deskcrm-lock.sha256
want=$(sha256sum "$sdk_dir/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing the pinned Zoho CRM Node SDK into $sdk_dir/node_modules"
  npm ci --prefix "$sdk_dir" --no-audit --no-fund --loglevel=error \
    || die "npm ci failed; rerun by hand: npm ci --prefix $sdk_dir"
  echo "$want" >"$stamp"
fi
