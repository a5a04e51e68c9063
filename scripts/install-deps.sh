#!/usr/bin/env bash
# Installs the interop peers the tests need (Debian's redis-server,
# redis-tools, redis-sentinel, python3-redis, chromium) when they are missing.
# Everything else comes from go.mod.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v redis-benchmark >/dev/null 2>&1 || need+=(redis-tools)
command -v tclsh >/dev/null 2>&1 || need+=(tcl)
# The sentinel tests run real redis-sentinels and a redis-py client.
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)
/usr/bin/python3 -c 'import redis.sentinel' >/dev/null 2>&1 || need+=(python3-redis)
# The topology page's test drives a headless Chromium (chromedp).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: missing ${need[*]} and apt-get is not available; install Redis 7.0 (redis-server, redis-tools) by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-deps: need root (or sudo) to apt-get install ${need[*]}" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
# Debian's package may start a system redis-server on 6379; tests use their own ports.
redis-server --version
