#!/usr/bin/env bash
# Installs the Debian packages the tests use (real MQTT clients, a real Chromium, CJK fonts for
# screenshots) when they are missing and we are root; otherwise says which tests will skip.
set -uo pipefail
need=()
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v mosquitto >/dev/null 2>&1 || need+=(mosquitto)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || need+=(fonts-noto-cjk)
if [ ${#need[@]} -eq 0 ]; then echo "all test packages present"; exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing ${need[*]}: tests that need them will skip (install them as root to run them)" >&2
  exit 0
fi
echo "installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
status=$?
if [ $status -ne 0 ]; then
  echo "apt-get install ${need[*]} failed ($status)" >&2
  [ "${CI:-}" = "true" ] && exit $status
fi
exit 0
