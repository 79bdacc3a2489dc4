"""Benchmark the crisis check: how long one message takes through the detector and the net.

Every private message passes the crisis check before anything else, so it must stay far
below a millisecond for ordinary messages and must not blow up on pathological input (long
runs of stars, repeated words, leetspeak) that could make a regular expression backtrack.
Prints the best-of-N time per message for each case beside its target.

Run: python benchmarks/bench_crisis_speed.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import functools
import timeit
import tomllib
from collections.abc import Callable
from pathlib import Path

from bot.research.crisis_corpus import shipped_net
from bot.runtime.content import load_crisis_detector

EXAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "crisis_examples.toml"
PATHOLOGICAL = {
    "stars": "*" * 4096,
    "censored run": "a*" * 2048,
    "letters then a star": "a" * 4094 + " *",
    "'want to' x512": "want to " * 512,
    "'not' x1024": "not " * 1024,
    "leet": "1a" * 2048,
}


def best_seconds(call: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(call, number=number, repeat=repeat)) / number


def row(name: str, seconds: float, target: float) -> str:
    verdict = "met" if seconds < target else "NOT MET"
    return f"| {name} | < {target * 1000:g} ms | {seconds * 1000:.3f} ms | {verdict} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    detector = load_crisis_detector()
    net = shipped_net()
    with EXAMPLES.open("rb") as file:
        negatives = tomllib.load(file)["negative"]
    quiet = [text for text in negatives if detector.check(text) is None]
    long_quiet = ". ".join(quiet * 4)[:4096]
    everyday = ["mood 6 today, slept ok and walked the dog", "this commute is killing me"]
    long_everyday = ("mood 6 today, slept ok, 🙂 walked the dog and had lunch. " * 80)[:4096]

    print("| case | target | best per message | |")
    print("| --- | --- | --- | --- |")
    print(
        row(
            "detector, 4,096 quiet characters",
            best_seconds(lambda: detector.check(long_quiet), 20, args.repeat),
            0.001,
        )
    )
    for name, text in PATHOLOGICAL.items():
        check = functools.partial(detector.check, text[:4096])
        print(row(f"detector, pathological: {name}", best_seconds(check, 3, args.repeat), 0.005))
    pair = best_seconds(lambda: [net.assess(t) for t in everyday], 50, args.repeat) / 2
    print(row("net, an everyday message", pair, 0.001))
    print(
        row(
            "net, 4,096 everyday characters",
            best_seconds(lambda: net.assess(long_everyday), 3, args.repeat),
            0.02,
        )
    )


if __name__ == "__main__":
    main()
