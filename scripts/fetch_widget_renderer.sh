#!/bin/sh
# Packs the offline widget renderer for `jupyter nbconvert --to html` into a folder
# (default build/widget-renderer, gitignored): @jupyter-widgets/html-manager@^1 (ipywidgets 8
# state) and requirejs@2, from the npm registry. No install scripts run.
#
#   scripts/fetch_widget_renderer.sh [DEST]
#   jupyter nbconvert --to html NB.ipynb \
#     --HTMLExporter.widget_renderer_url=DEST/node_modules/@jupyter-widgets/html-manager/dist/embed-amd.js \
#     --HTMLExporter.require_js_url=DEST/node_modules/requirejs/require.js
#
# (azimage_widgets.html_export.export_html does this with paths relative to the HTML.)
set -eu
DEST="${1:-build/widget-renderer}"
mkdir -p "$DEST"
cd "$DEST"
[ -f package.json ] || printf '{"name": "azimage-widget-renderer", "private": true}\n' > package.json
npm install --no-audit --no-fund --ignore-scripts --no-save \
    "@jupyter-widgets/html-manager@^1" "requirejs@2"
test -f node_modules/@jupyter-widgets/html-manager/dist/embed-amd.js
test -f node_modules/requirejs/require.js
echo "widget renderer in $(pwd)/node_modules"
