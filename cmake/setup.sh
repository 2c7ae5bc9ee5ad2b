#!/usr/bin/env bash
# Installs every Debian package rlvr needs to build, test and run. Idempotent: packages already
# present are skipped, so a second run is quick and needs no network.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache git pkg-config python3
  clang-format valgrind util-linux patch
  libgtest-dev libgmock-dev libbenchmark-dev libbenchmark-tools python3-scipy
  libgit2-dev libcurl4-openssl-dev nlohmann-json3-dev libsqlite3-dev
  libcli11-dev libfmt-dev libcpp-httplib-dev
  libopenblas-dev
  slurm-wlm munge
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "rlvr setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
