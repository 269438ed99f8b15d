"""Baseline for `needle bench classify`: Python vaderSentiment's polarity_scores, one thread.

Reads one JSON string (a message text) per line from the file given as argv[1], scores each,
and prints {"messages": N, "seconds": S, "checksum": C} as its last line. The checksum (sum
of compound scores) lets the caller check both sides scored the same texts.
"""

import json
import sys
import time

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        texts = [json.loads(line) for line in f]
    analyzer = SentimentIntensityAnalyzer()
    started = time.perf_counter()
    total = 0.0
    for text in texts:
        total += analyzer.polarity_scores(text)["compound"]
    seconds = time.perf_counter() - started
    print(json.dumps({"messages": len(texts), "seconds": seconds, "checksum": total}))


if __name__ == "__main__":
    main()
