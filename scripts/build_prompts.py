"""Build the code-gen prompt dataset from hand-written tasks, contexts and constraints.

``python scripts/build_prompts.py [OUT_DIR]`` (default ``agentload/data/datasets``) writes
``codegen_prompts.jsonl``: short, medium and long requests, deterministic under a fixed seed.
Each prompt is a real request: an optional situation, one task, and zero to three constraints.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

SEED = 20261125
COUNT = 320

TASKS: tuple[str, ...] = (
    "Write a function that parses an ISO 8601 date string and returns a datetime.date.",
    "Write a function that merges two sorted lists into one sorted list without using sort().",
    "Implement an LRU cache class with get(key) and put(key, value) and a fixed capacity.",
    "Write a function that returns the n-th Fibonacci number iteratively.",
    "Write a function that checks whether a string is a palindrome, ignoring case and punctuation.",
    "Write a function that flattens an arbitrarily nested list of integers.",
    "Write a function that counts word frequencies in a text and returns the ten most common.",
    "Implement a function that validates an IPv4 address given as a string.",
    "Write a function that converts a Roman numeral to an integer.",
    "Write a function that converts an integer between 1 and 3999 to a Roman numeral.",
    "Implement binary search over a sorted list and return the index or -1.",
    "Write a function that groups a list of dictionaries by the value of a given key.",
    "Write a class for a bank account with deposit, withdraw and a balance that cannot go "
    "negative.",
    "Write a function that reads a CSV file and returns the sum of a named numeric column.",
    "Implement a token bucket rate limiter class with allow() returning True or False.",
    "Write a function that chunks an iterable into lists of at most n items.",
    "Write a function that computes the Levenshtein distance between two strings.",
    "Write a retry decorator that retries a function up to three times on ValueError.",
    "Write a function that normalises whitespace in a string: trims it and collapses runs of "
    "spaces.",
    "Implement a stack-based checker for balanced brackets in a string of (), [] and {}.",
    "Write a function that returns the prime numbers below n using the sieve of Eratosthenes.",
    "Write a function that slugifies a title for use in a URL.",
    "Write a function that computes a moving average over a list of floats with window k.",
    "Implement a min-heap based function that returns the k largest numbers of a list.",
    "Write a function that deep-merges two dictionaries, the second one winning on conflicts.",
    "Write a function that parses a query string like 'a=1&b=2' into a dictionary.",
    "Write a function that transposes a matrix given as a list of lists.",
    "Write a function that formats a number of bytes as a human-readable size like '1.5 MiB'.",
    "Implement a simple event emitter class with on(event, handler) and emit(event, payload).",
    "Write a function that finds all duplicate files in a list of (path, checksum) pairs.",
    "Write a function that rotates a list to the right by k positions.",
    "Write a dataclass for a 2D vector with addition, scaling and a length method.",
    "Write a function that converts snake_case identifiers to camelCase.",
    "Write a function that returns the longest common prefix of a list of strings.",
    "Implement a breadth-first search that returns the shortest path in an unweighted graph "
    "given as an adjacency dict.",
    "Write a function that detects a cycle in a directed graph.",
    "Write a function that parses log lines of the form 'LEVEL timestamp message' into records.",
    "Write a context manager that measures and prints the elapsed time of a block.",
    "Write a function that splits a full name into first and last name, handling middle names.",
    "Write a function that validates a password: at least 12 characters, a digit and a symbol.",
    "Implement run-length encoding and decoding for strings.",
    "Write a function that computes the median of a list without sorting it in place.",
    "Write a function that returns the number of business days between two dates.",
    "Write a generator that yields the lines of a large file that contain a keyword.",
    "Write a function that checks whether two strings are anagrams.",
    "Implement a queue using two stacks with enqueue and dequeue.",
    "Write a function that converts a temperature table from Celsius to Fahrenheit.",
    "Write a function that masks all but the last four digits of a card number.",
    "Write a function that computes the greatest common divisor and least common multiple.",
    "Write a function that validates that a JSON object has the keys 'id', 'name' and 'email'.",
)

CONTEXTS: tuple[str, ...] = (
    "I'm cleaning up a data pipeline at work.",
    "This is for a small command-line tool I maintain.",
    "We are preparing interview exercises for junior developers.",
    "Our service handles a few thousand requests a minute, so this runs on a hot path.",
    "I'm teaching an introductory Python course and need a clear reference solution.",
    "This will run inside a Django view, but keep it framework-free.",
    "We process exports from an old billing system that is not always consistent.",
    "I'm writing a small utility module that other teams will import.",
    "This is part of a nightly batch job, so clarity matters more than speed.",
    "The code goes into an embedded Raspberry Pi project with limited memory.",
)

CONSTRAINTS: tuple[str, ...] = (
    "Use type hints.",
    "Add a short docstring.",
    "Do not use any third-party libraries.",
    "Raise ValueError on invalid input.",
    "Keep it under 30 lines.",
    "Include two doctest examples.",
    "Handle empty input gracefully.",
    "Make it run in linear time.",
    "Avoid recursion.",
    "Use only the standard library.",
    "Return a new object instead of modifying the input.",
    "Name the function clearly and keep helper functions private.",
    "Add a small main block that demonstrates it.",
    "Prefer readability over cleverness.",
    "Write it so it is easy to unit test.",
)

EXAMPLE_NOTE = (
    "For reference, the inputs usually look like what we log in production: a few dozen "
    "items at most, sometimes none, occasionally with stray whitespace or mixed case. "
    "Please explain nothing in prose; I only need the code."
)


def build_prompts(count: int = COUNT, seed: int = SEED) -> list[str]:
    """``count`` distinct prompts of varied length, the same for the same seed."""
    rng = random.Random(seed)
    prompts: list[str] = []
    seen: set[str] = set()
    while len(prompts) < count:
        size = rng.choices(("short", "medium", "long"), weights=(3, 4, 3))[0]
        parts = [rng.choice(TASKS)]
        if size != "short":
            parts.insert(0, rng.choice(CONTEXTS))
            parts.extend(rng.sample(CONSTRAINTS, 1 if size == "medium" else 3))
        if size == "long":
            parts.append(EXAMPLE_NOTE)
        text = " ".join(parts)
        if text not in seen:
            seen.add(text)
            prompts.append(text)
    return prompts


def write_dataset(out_dir: Path) -> Path:
    """Write ``codegen_prompts.jsonl`` into ``out_dir`` and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "codegen_prompts.jsonl"
    lines = (
        json.dumps({"id": f"cg-{i:04d}", "prompt": p}) for i, p in enumerate(build_prompts(), 1)
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    write_dataset(Path(sys.argv[1] if len(sys.argv) > 1 else "agentload/data/datasets"))
