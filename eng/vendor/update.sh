#!/usr/bin/env bash
# Copies the pinned browser libraries (package.json, package-lock.json) into the gateway's wwwroot/vendor, and
# the project's own JavaScript client (clients/js) beside them: the board uses that package, and a test checks that
# the copy is the package's file byte for byte. The copies are committed: the gateway serves them itself, with no
# CDN and no npm at run time. After changing a version in package.json or the client: run this script and commit
# package-lock.json and the copies.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
dest=../../src/Feed.Gateway/wwwroot/vendor
mkdir -p "$dest"
cp node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.mjs "$dest/"
cp node_modules/lightweight-charts/LICENSE "$dest/lightweight-charts.LICENSE"
dashboard=../../src/Feed.Gateway/wwwroot/dashboard/vendor
mkdir -p "$dashboard"
cp node_modules/uplot/dist/uPlot.esm.js node_modules/uplot/dist/uPlot.min.css "$dashboard/"
cp node_modules/uplot/LICENSE "$dashboard/uPlot.LICENSE"
cp ../../clients/js/src/index.js "$dest/marketstream-client.js"
