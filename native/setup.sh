#!/usr/bin/env bash
# Set up this checkout on a fresh Debian 12 machine (root, Node 20): the
# Debian packages the project uses, the npm packages, the TypeScript build
# and the native helpers. Safe to run again: each step is skipped or cheap
# when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

# Debian packages: gcc/make build native/; criu is installed only for its
# crit decoder and python modules (the image-format reference in tests);
# openssl makes test certificates; iproute2 for network namespaces; Go and
# go-criu for the RPC tests.
missing=()
command -v gcc >/dev/null || missing+=(gcc)
command -v make >/dev/null || missing+=(make)
[ -x /usr/bin/crit ] || missing+=(criu)
/usr/bin/python3 -c 'import google.protobuf' 2>/dev/null || missing+=(python3-protobuf)
command -v openssl >/dev/null || missing+=(openssl)
command -v ip >/dev/null || missing+=(iproute2)
# the RPC service's e2e clients: go-criu (built at test time from Debian's source) and pycriu (in criu)
command -v go >/dev/null || missing+=(golang-go)
[ -d /usr/share/gocode/src/github.com/checkpoint-restore/go-criu ] || missing+=(golang-github-checkpoint-restore-go-criu-dev)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

say "installing npm packages"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >/dev/null; else npm install --no-audit --no-fund >/dev/null; fi

say "building (nx)"
npx nx run-many -t build --output-style=static >/dev/null

# npm links workspace bins only once their targets exist, i.e. after the
# build: link them now so node_modules/.bin holds criu and criu-*.
npm install --ignore-scripts --no-audit --no-fund --offline >/dev/null 2>&1 || npm install --ignore-scripts --no-audit --no-fund >/dev/null

say "building native helpers"
make -s -C native

say "ready: export PATH=\"$PWD/node_modules/.bin:\$PATH\" to call criu and criu-* directly"
