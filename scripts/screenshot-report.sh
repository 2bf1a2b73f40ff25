#!/usr/bin/env bash
# Screenshots a Sparsa report with headless Chromium so the plots can be looked at:
#   scripts/screenshot-report.sh out/demo/report.html [out.png] [width] [height]
set -euo pipefail
html="$(realpath "${1:?usage: $0 REPORT.html [OUT.png] [WIDTH] [HEIGHT]}")"
png="${2:-${html%.html}.png}"
w="${3:-1400}"
h="${4:-5200}"
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[[ -n "$browser" ]] || { echo "screenshot-report: no chromium on PATH (Debian: apt-get install chromium)" >&2; exit 2; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
  --screenshot="$(realpath -m "$png")" --window-size="$w,$h" "file://$html" >/dev/null 2>&1
echo "screenshot: $png"
