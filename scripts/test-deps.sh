#!/usr/bin/env bash
# Installs what `make test` needs beyond Go: Node.js and npm (Debian packages
# nodejs and npm) and Zoho's official CRM Node SDK, pinned by
# conformance/crmsdk/package.json and package-lock.json, into the git-ignored
# conformance/crmsdk/node_modules (used by the SDK conformance test).
#
# Idempotent and quiet when everything is in place. As root it installs
# missing Debian packages with apt-get; otherwise it stops and prints the
# exact command to run.
set -euo pipefail
cd "$(dirname "$0")/.."

sdk_dir=conformance/crmsdk
# The SDK's README asks for Node.js 14.21.3 or later.
min_node_major=14

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: ${need_apt[*]} missing; install with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y nodejs npm" >&2
    exit 1
  fi
  echo "test-deps: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt "$min_node_major" ]; then
  echo "test-deps: node $(node --version) is too old; the CRM SDK needs Node.js >= 14.21.3" >&2
  exit 1
fi

# npm ci only when the lock file changed since the last install.
stamp=$sdk_dir/node_modules/.deskcrm-lock.sha256
want=$(sha256sum "$sdk_dir/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "test-deps: installing the pinned Zoho CRM Node SDK into $sdk_dir/node_modules"
  if ! npm ci --prefix "$sdk_dir" --no-audit --no-fund --loglevel=error; then
    echo "test-deps: npm ci failed; rerun by hand: npm ci --prefix $sdk_dir" >&2
    exit 1
  fi
  echo "$want" >"$stamp"
fi
