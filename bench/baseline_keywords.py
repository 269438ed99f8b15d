#!/usr/bin/env python3
"""Baseline for Needle's listening benchmark: the obvious Python keyword monitor.

Usage: python3 bench/baseline_keywords.py DIR [--seconds S]

DIR is what `cargo run --release -p needle-listen --example listen_bench -- --dir DIR` writes:

- messages.jsonl: one {"id", "text", "title"} per line, the normalised messages the Rust
  matcher sees;
- topics-N.json: for each topic count N, a list of {"id", "query", "keywords"}; `keywords` are
  the topic's plain keywords (brand, product and handle names, phrases as written).

For each topics file it prints one JSON line:

    {"baseline":"python-keywords","topics":N,"messages":M,"seconds":S,"messages_per_s":R,"matches":K}

It is what a competent engineer would write in an afternoon with the standard library only.
Each message is lower-cased and split on anything that is not a letter or a digit into a set of
tokens. A topic matches when every token of one of its keywords is in that set (a bag-of-words
test, with no order, proximity, NOT, fields, wildcards, case or accent rules). Every topic is
checked against every message, one set lookup per keyword token. JSON parsing is done before the
clock starts, as in the Rust benchmark; tokenizing and matching are timed.

With many topics a full pass would take hours, so each topics file gets at most S seconds
(default 20). The run stops after the first message that ends past the budget, and `messages`
says how many messages were matched in that time.
"""

import glob
import json
import os
import re
import sys
import time

SPLIT = re.compile(r"[^\w]+|_+")


def tokens(text):
    """Lower case, split on non-alphanumerics (underscore included), no empty tokens."""
    return [t for t in SPLIT.split(text.lower()) if t]


def load_messages(path):
    texts = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = json.loads(line)
            title = m.get("title")
            texts.append(m["text"] if not title else title + "\n" + m["text"])
    return texts


def load_topics(path):
    with open(path, encoding="utf-8") as f:
        topics = json.load(f)
    # Each topic: a tuple of keywords, each a tuple of its tokens.
    out = []
    for t in topics:
        kws = tuple(tuple(tokens(k)) for k in t["keywords"])
        out.append(tuple(k for k in kws if k))
    return out


def run(texts, topics, budget):
    matches = 0
    done = 0
    start = time.perf_counter()
    for text in texts:
        words = set(tokens(text))
        for keywords in topics:
            for kw in keywords:
                for tok in kw:
                    if tok not in words:
                        break
                else:
                    matches += 1
                    break
        done += 1
        if time.perf_counter() - start > budget:
            break
    took = time.perf_counter() - start
    return done, took, matches


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    directory = args[0]
    budget = 20.0
    if "--seconds" in args:
        budget = float(args[args.index("--seconds") + 1])
    texts = load_messages(os.path.join(directory, "messages.jsonl"))
    files = glob.glob(os.path.join(directory, "topics-*.json"))
    files.sort(key=lambda p: int(re.search(r"topics-(\d+)\.json$", p).group(1)))
    for path in files:
        topics = load_topics(path)
        done, took, matches = run(texts, topics, budget)
        print(
            json.dumps(
                {
                    "baseline": "python-keywords",
                    "topics": len(topics),
                    "messages": done,
                    "seconds": round(took, 3),
                    "messages_per_s": done / took if took > 0 else None,
                    "matches": matches,
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
