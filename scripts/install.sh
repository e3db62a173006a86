#!/usr/bin/env bash
# Install stabviz: system fonts for Chinese figure export, then the Python packages.
#   --serve  also nginx and jemalloc, for scripts/serve.sh (several processes behind nginx: docs/deploy.md)
#   --dev    also chromium for the browser tests, nginx and jemalloc for the proxy test, and the dev tools
# Safe to run again: only what is missing is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(fonts-wqy-microhei)
requirements=requirements.txt
case "${1:-}" in
  --dev) packages+=(chromium nginx libjemalloc2); requirements=requirements-dev.txt ;;
  --serve) packages+=(nginx libjemalloc2) ;;
  "") ;;
  *) echo "install.sh: unknown option $1 (use --serve or --dev)" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if (( ${#missing[@]} )); then
  if command -v apt-get >/dev/null; then
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
  else
    echo "install.sh: please install ${missing[*]} with your package manager (CJK font / chromium / nginx / jemalloc)" >&2
  fi
fi
python -m pip install -q -r "$requirements"
