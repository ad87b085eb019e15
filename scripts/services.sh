#!/usr/bin/env bash
# Services the server tests use: PostgreSQL (a throwaway cluster), chromium + chromium-driver
# (headless browser tests).  Installs the Debian packages when missing.
#
#   source scripts/services.sh        # install what is missing, start PostgreSQL,
#                                     # export PERFXL_TEST_PG (the URL tests/serverkit.py reads)
#   bash scripts/services.sh stop     # stop that PostgreSQL and remove its folder
#
# In CI:   source scripts/services.sh; trap 'bash scripts/services.sh stop' EXIT; bash scripts/test.sh
# Without PostgreSQL on purpose: export PERFXL_TEST_PG=unavailable (the PostgreSQL tests skip).
_perfxl_services_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_perfxl_pg_state="${TMPDIR:-/tmp}/perfxl-services.pgdir"

_perfxl_services_install() {
  local sudo="" need=()
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || need+=(postgresql)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
  if [ ${#need[@]} -gt 0 ]; then
    echo "正在安装系统软件包：${need[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}

_perfxl_services_start() {
  _perfxl_services_install || return 1
  if [ -n "${PERFXL_TEST_PG:-}" ]; then
    echo "PERFXL_TEST_PG already set (${PERFXL_TEST_PG}); not starting PostgreSQL" >&2
    return 0
  fi
  local dir url
  dir=$(mktemp -d "${TMPDIR:-/tmp}/perfxl-pg.XXXXXX")
  url=$("$_perfxl_services_root/scripts/pg.sh" start "$dir" 2>/dev/null | tail -n 1) || return 1
  echo "$dir" > "$_perfxl_pg_state"
  export PERFXL_TEST_PG="$url"
  echo "PostgreSQL for the tests: $PERFXL_TEST_PG" >&2
}

_perfxl_services_stop() {
  [ -f "$_perfxl_pg_state" ] || return 0
  local dir
  dir=$(cat "$_perfxl_pg_state")
  "$_perfxl_services_root/scripts/pg.sh" stop "$dir" || true
  rm -rf "$dir" "$_perfxl_pg_state"
}

if [ "${1:-}" = "stop" ]; then
  _perfxl_services_stop
elif [ "${BASH_SOURCE[0]}" = "$0" ]; then
  # run, not sourced: start, then print the export line for the caller to eval
  _perfxl_services_start && echo "export PERFXL_TEST_PG='$PERFXL_TEST_PG'"
else
  _perfxl_services_start
fi
