#!/usr/bin/env bash
# System prerequisites of the local toolkit (`roleplay infra …`), for a fresh Debian machine.
# Run as root before anything else; idempotent (installs only what is missing).
#
# * PostgreSQL: Debian's `postgresql` package, installed when no /usr/lib/postgresql/*/bin/postgres
#   exists (the toolkit runs a cluster of its own on port 15432; the package's own cluster on
#   5432, if the package starts one, is not used).
# * Chromium (Debian's `chromium`, for the browser tests in tests/browser) and Node.js with npm
#   (builds the web client, services/gateway/web): installed when missing.
# * Java 17 or newer (runs Kafka), Maven (fetches Kafka's jars), Go (builds MinIO): checked
#   only; the script says which are missing and fails.
# Silent when everything is there (`make` runs it before every target); -v says what it found.
set -euo pipefail

verbose=0
[ "${1:-}" = "-v" ] && verbose=1
say() { if ((verbose)); then echo "$@"; fi; }

have_postgres() { compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; }

if have_postgres; then
  say "postgresql: $(ls -d /usr/lib/postgresql/*/bin/postgres | sort -V | tail -n 1)"
else
  if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL is missing: run this script as root, or install Debian's postgresql package" >&2
    exit 1
  fi
  echo "installing PostgreSQL from Debian's packages…"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends postgresql >/dev/null; then
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends postgresql >/dev/null
  fi
  have_postgres || { echo "PostgreSQL install did not provide a postgres binary" >&2; exit 1; }
  echo "postgresql: installed"
fi
# Servers run as this user when the toolkit runs as root (initdb refuses root).
if ! id postgres >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

# Debian packages a command needs, installed when the command is missing.
install_for() {
  local command=$1
  shift
  if command -v "$command" >/dev/null 2>&1; then
    say "$command: $(command -v "$command")"
    return
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "$command is missing: run this script as root, or install Debian's $*" >&2
    exit 1
  fi
  echo "installing $* from Debian's packages…"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "$@" >/dev/null; then
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "$@" >/dev/null
  fi
}
install_for chromium chromium
install_for npm nodejs npm

problems=()
if command -v java >/dev/null 2>&1; then
  # `java -version` prints e.g.: openjdk version "17.0.15" 2025-04-15 (on stderr)
  java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n 1)
  if [ -z "$java_major" ] || [ "$java_major" -lt 17 ]; then
    problems+=("Java 17 or newer is needed to run Kafka 4 (found: ${java_major:-unknown})")
  else
    say "java: $java_major"
  fi
else
  problems+=("java is missing: Java 17 or newer runs Kafka (Debian: openjdk-17-jre-headless)")
fi
if command -v mvn >/dev/null 2>&1; then
  say "maven: $(command -v mvn)"
else
  problems+=("mvn is missing: Maven fetches Kafka's jars (Debian: maven)")
fi
if command -v go >/dev/null 2>&1; then
  say "go: $(go env GOVERSION 2>/dev/null || go version)"
else
  problems+=("go is missing: Go builds MinIO from its module (a recent Go toolchain)")
fi

if ((${#problems[@]})); then
  printf 'missing prerequisite: %s\n' "${problems[@]}" >&2
  exit 1
fi
say "system prerequisites of the local toolkit: ok"
