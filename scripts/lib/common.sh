# Shared by scripts/*: paths, logging, and idempotent installers for what the project needs on the machine.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Data, logs and pid files of the local servers: per checkout, git-ignored.
STATE="${GATEWAY_SERVICES_DIR:-$ROOT/.services}"
# Builds and downloads (FerretDB binary, Neo4j jars, dataset wheels): per user, reused by every checkout.
CACHE="${GATEWAY_CACHE_DIR:-$HOME/.cache/polyglot-gateway}"
VENV="$ROOT/.venv"
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root to run: $*"
  fi
}

_apt_updated=""
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
  if [ -z "$_apt_updated" ]; then
    say "apt-get update"
    as_root apt-get update -qq >/dev/null
    _apt_updated=1
  fi
  say "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_venv() {
  local python="${PYTHON:-python3}" want stamp="$VENV/.installed"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "Python >= 3.11 is required ($python is $("$python" --version 2>&1))"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtualenv .venv"
    "$python" -m venv "$VENV" 2>/dev/null || { apt_install python3-venv && "$python" -m venv "$VENV"; }
  fi
  want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python dependencies"
    "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip
    "$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT[dev]"
    echo "$want" >"$stamp"
  fi
}

ensure_graphiql_assets() {
  local dir="$ROOT/deploy/graphiql" want stamp="$ROOT/deploy/graphiql/node_modules/.installed"
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  say "installing GraphiQL assets from npm (deploy/graphiql)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$stamp"
}

gw() { "$VENV/bin/gateway" "$@"; }
