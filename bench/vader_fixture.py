"""Recomputes the compound scores of Needle's VADER faithfulness fixture with the Python
reference, vaderSentiment 3.3.2 (pip install vaderSentiment==3.3.2 into a venv).

    python bench/vader_fixture.py crates/needle-classify/tests/fixtures/vader_reference.jsonl

The texts in the fixture were written for Needle; only the scores come from the reference.
"""

import contextlib
import io
import json
import sys

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


def main():
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    analyzer = SentimentIntensityAnalyzer()
    with open(path, "w", encoding="utf-8") as f:
        for text in texts:
            with contextlib.redirect_stdout(io.StringIO()):
                compound = analyzer.polarity_scores(text)["compound"]
            f.write(json.dumps({"text": text, "compound": compound}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
