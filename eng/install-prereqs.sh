#!/usr/bin/env bash
# Installs the operating-system tools the test suite drives for real, where they are missing:
#   kcat - an independent Kafka producer, used to prove outside producers reach the embedded broker.
# Idempotent and quick when everything is present. Needs root (or sudo) and apt-get to install.
set -euo pipefail

packages=()
command -v kcat >/dev/null 2>&1 || packages+=(kcat)

if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing: ${packages[*]}. Install them with your package manager, then run the tests again." >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi

echo "Installing ${packages[*]} ..."
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
