#!/usr/bin/env bash
# Vendors the UI's npm packages (ECharts) into internal/web/static/vendor, which the binary
# embeds. Runs npm only when the vendored files are missing or package-lock.json changed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f web/package.json ] || { echo "no web/package.json yet"; exit 0; }
dest=internal/web/static/vendor
stamp="$dest/.lock-sha"
sum=$(sha256sum web/package-lock.json 2>/dev/null | cut -d' ' -f1 || echo none)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then exit 0; fi
(cd web && npm ci --no-audit --no-fund --loglevel=error)
mkdir -p "$dest"
cp web/node_modules/echarts/dist/echarts.min.js "$dest/"
echo "$sum" > "$stamp"
echo "web assets vendored into $dest"
