#!/usr/bin/env bash
# Publishes the gateway: the one command both CI and the container image (Dockerfile) run, so the image
# holds exactly what CI built and tested.
#   eng/publish.sh [output dir]      (default: artifacts/gateway)
# Framework-dependent and portable (no runtime identifier): the output runs on the aspnet:10.0 image on
# amd64 and arm64 alike, and carries librdkafka for each platform under runtimes/<rid>/native/.
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-artifacts/gateway}"
dotnet publish src/Feed.Gateway/Feed.Gateway.csproj -c Release -o "$out" -p:UseAppHost=false -p:RestoreLockedMode=true

# The Kafka client is native code: without it the gateway cannot start.
if [ ! -f "$out/runtimes/linux-x64/native/librdkafka.so" ]; then
  echo "publish: $out/runtimes/linux-x64/native/librdkafka.so is missing" >&2
  exit 1
fi
