#!/usr/bin/env bash
# System prerequisites of the local toolkit, installed when missing (idempotent; root for apt).
# Java 17, Maven and Go come with the machine; PostgreSQL comes from Debian's packages.
set -euo pipefail

missing=()
for tool in java mvn go python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "missing tools: ${missing[*]} (the toolkit needs Java 17, Maven, Go and Python 3.11+)" >&2
  exit 1
fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL is missing: install Debian's postgresql package (needs root)" >&2
    exit 1
  fi
  echo "installing PostgreSQL from Debian's packages…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q postgresql >/dev/null || { apt-get update -q && apt-get install -y -q postgresql >/dev/null; }
  # The package may start its own cluster on 5432; ours runs separately on its own port.
fi
