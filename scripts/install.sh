#!/usr/bin/env bash
# Install stabviz: system fonts for Chinese figure export (and chromium for the browser tests with --dev),
# then the Python packages. Safe to run again: only what is missing is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(fonts-wqy-microhei)
requirements=requirements.txt
if [[ "${1:-}" == "--dev" ]]; then
  packages+=(chromium)
  requirements=requirements-dev.txt
fi
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if (( ${#missing[@]} )); then
  if command -v apt-get >/dev/null; then
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
  else
    echo "install.sh: please install ${missing[*]} with your package manager (CJK font / chromium)" >&2
  fi
fi
python -m pip install -q -r "$requirements"
