#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test of every crate, from one build.
# Needs only the Rust toolchain; tests start what they need themselves (servers on free
# ports in temp dirs). Set CARGO_TARGET_DIR to reuse a build cache.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== setup"
bash scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings

echo "== optional backends compile out"
# --all-features above hides a module that forgets its feature gate: check the crates with
# optional backends on their defaults too.
cargo check -p needle-store -p needle-bus

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --no-fail-fast
else
  cargo test --workspace --all-features --no-fail-fast
fi
