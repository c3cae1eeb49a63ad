#!/usr/bin/env bash
# Installs the operating-system tools the test suite drives for real, where they are missing:
#   kcat     - an independent Kafka producer, used to prove outside producers reach the embedded broker;
#   chromium - Debian's Chromium, driven by Playwright in the browser tests (no browser download);
#   node/npm - the offline Kubernetes manifest validator (eng/k8s-validate);
#   nginx    - the load balancer in front of three gateway replicas in the load harness's rolling rehearsal.
# kubectl (with Kustomize) is expected on the machine image; Debian's kubernetes-client conflicts with it.
# Idempotent and quick when everything is present. Needs root (or sudo) and apt-get to install.
set -euo pipefail

packages=()
command -v kcat >/dev/null 2>&1 || packages+=(kcat)
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || packages+=(nginx)

if ! command -v kubectl >/dev/null 2>&1; then
  echo "warning: kubectl not found; the manifest tests will fail. Install kubectl 1.32+ (with Kustomize)." >&2
fi

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
