#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the console's browser tests (tests/console/), which
# drive it with Playwright for Python. Playwright's own browser downloads are never used. CI calls
# this (with CI=true the browser tests fail instead of skipping); an installed Chromium is left alone.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
echo "ensure-chromium: installing Chromium (Debian package)"
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "ensure-chromium: chromium is still missing" >&2; exit 1; }
