"""Synthetic rows: seeded lengths within their bounds, prompts of exactly that many tokens by the
stated rule, max_tokens from output_tokens, and bad tables stopped before load naming the field."""

from __future__ import annotations

import random
import statistics
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from agentload.apis.lengths import Synthetic
from agentload.apis.load import DescriptionError, load_description
from agentload.apis.templates import fill
from agentload.scenarios.plan import PlanError, resolve
from agentload.scenarios.synthetic import SyntheticDataset, load_synthetic
from agentload.stock.lookup import PACKAGE_DATA
from tests.runner.agentload_run import run_agentload
from tests.support import free_port

NORMAL = {"dist": "normal", "mean": 512, "stdev": 64, "min": 128, "max": 1024}
CHAT = """
model = "m"
[scenarios.chat]
method = "POST"
path = "/v1/chat/completions"
body = {{ model = "{{model}}", messages = [{{ role = "user", content = "{{prompt}}" }}], max_tokens = "{{max_tokens}}" }}
{extra}
"""  # noqa: E501


def _rows(**table: Any) -> SyntheticDataset:
    spec = Synthetic.model_validate({"tokenizer": "words", **table})
    return load_synthetic(spec, Path.cwd())


def _write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "api.toml"
    path.write_text(CHAT.format(extra=extra))
    return path


def _plan_error(tmp_path: Path, extra: str) -> str:
    path = _write(tmp_path, extra)
    description, where = load_description(path)
    with pytest.raises(PlanError) as info:
        resolve(description, where)
    return str(info.value)


def test_the_same_seed_gives_the_same_rows_and_another_seed_others() -> None:
    table = {"prompt_tokens": NORMAL, "output_tokens": {"dist": "uniform", "min": 1, "max": 99}}
    first, again = _rows(seed=7, **table), _rows(seed=7, **table)
    assert [first.row(i) for i in range(50)] == [again.row(i) for i in range(50)]
    other = _rows(seed=8, **table)
    assert [first.row(i) for i in range(50)] != [other.row(i) for i in range(50)]
    draws = [first.pick(random.Random("run")) for _ in range(3)]
    assert draws == [again.pick(random.Random("run")) for _ in range(3)]


def test_a_normal_length_has_its_mean_and_stdev_and_stays_within_its_bounds() -> None:
    """Over 2,000 rows: sample mean within 5 tokens of 512, stdev within 5 % of 64, all in
    [128, 1024]; a narrow range (480-540) is filled to both ends and never left."""
    lengths = [p for _, p, _ in _rows(prompt_tokens=NORMAL, output_tokens=1, samples=2000).samples]
    assert abs(statistics.fmean(lengths) - 512) < 5
    assert statistics.stdev(lengths) == pytest.approx(64, rel=0.05)
    assert 128 <= min(lengths) and max(lengths) <= 1024
    narrow = {**NORMAL, "min": 480, "max": 540}
    cut = [p for _, p, _ in _rows(prompt_tokens=narrow, output_tokens=1, samples=2000).samples]
    assert min(cut) == 480 and max(cut) == 540


def test_a_uniform_length_covers_its_range_both_ends_included() -> None:
    uniform = {"dist": "uniform", "min": 10, "max": 20}
    lengths = [o for _, _, o in _rows(prompt_tokens=5, output_tokens=uniform, samples=2000).samples]
    assert set(lengths) == set(range(10, 21))
    assert abs(statistics.fmean(lengths) - 15) < 0.3


def test_each_prompt_has_its_prompt_tokens_in_words_and_max_tokens_is_output_tokens() -> None:
    rows = _rows(prompt_tokens=NORMAL, output_tokens={"dist": "uniform", "min": 1, "max": 300})
    assert rows.token_rule == "words" and rows.fields == {
        "prompt", "prompt_tokens", "output_tokens", "max_tokens"}  # fmt: skip
    for index in range(0, 1000, 37):
        row = rows.row(index)
        assert len(row["prompt"].split()) == row["prompt_tokens"]
        assert row["max_tokens"] == row["output_tokens"]


def test_a_prompt_longer_than_the_corpus_wraps_round_it() -> None:
    corpus_words = len((PACKAGE_DATA / "corpus/stdlib_docstrings.txt").read_text().split())
    assert corpus_words > 40_000  # the shipped corpus: a few hundred KB of prose
    row = _rows(prompt_tokens=corpus_words * 2 + 3, output_tokens=1, samples=1).row(0)
    assert len(row["prompt"].split()) == corpus_words * 2 + 3


def test_a_fixed_length_is_every_rows() -> None:
    rows = _rows(prompt_tokens={"dist": "fixed", "value": 33}, output_tokens=7, samples=20)
    assert {(p, o) for _, p, o in rows.samples} == {(33, 7)}


def test_auto_counts_words_when_tiktoken_is_not_importable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # import tiktoken raises ImportError
    spec = Synthetic.model_validate({"prompt_tokens": 10, "output_tokens": 1})
    assert spec.tokenizer == "auto"
    assert load_synthetic(spec, Path.cwd()).token_rule == "words"


FAKE_TIKTOKEN = '''
class _Encoding:
    """Stands in for tiktoken (not installable here): one token per character."""
    def encode_ordinary(self, text):
        return [ord(ch) for ch in text]
    def decode(self, tokens):
        return "".join(map(chr, tokens))
def get_encoding(name):
    if name != "chars":
        raise ValueError(f"Unknown encoding {name}")
    return _Encoding()
'''


def test_tiktoken_when_importable_cuts_prompts_by_its_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a module named tiktoken importable, ``auto`` uses it: the rule is
    ``tiktoken:<encoding>`` and each prompt encodes to its prompt_tokens."""
    fake = types.ModuleType("tiktoken")
    exec(FAKE_TIKTOKEN, fake.__dict__)
    monkeypatch.setitem(sys.modules, "tiktoken", fake)  # what ``import tiktoken`` then finds
    spec = Synthetic.model_validate(
        {"prompt_tokens": NORMAL, "output_tokens": 4, "encoding": "chars"}
    )
    rows = load_synthetic(spec, Path.cwd())
    assert rows.token_rule == "tiktoken:chars"
    for index in range(20):
        row = rows.row(index)
        assert rows.rule.count(row["prompt"]) == len(row["prompt"]) == row["prompt_tokens"]
    message = _plan_error(
        tmp_path, "[scenarios.chat.synthetic]\nprompt_tokens = 5\noutput_tokens = 5\n"
    )
    assert "\"scenarios.chat.synthetic.encoding\": tiktoken encoding 'cl100k_base'" in message


def test_ordinary_dataset_rows_may_carry_their_own_max_tokens(tmp_path: Path) -> None:
    """A row's max_tokens fills ``max_tokens = "{max_tokens}"`` as an integer; a var of the same
    name wins over it."""
    (tmp_path / "sized.jsonl").write_text(
        '{"prompt": "short", "max_tokens": 16}\n{"prompt": "long", "max_tokens": 900}\n'
    )
    description, path = load_description(_write(tmp_path, 'dataset = "sized.jsonl"'))
    chat = resolve(description, path).scenarios["chat"]
    rng = random.Random(3)
    bodies = [fill(chat.spec.body, chat.values(rng, "m")) for _ in range(20)]
    assert {(b["messages"][0]["content"], b["max_tokens"]) for b in bodies} == {
        ("short", 16), ("long", 900)}  # fmt: skip
    pinned = _write(tmp_path, 'dataset = "sized.jsonl"\nvars = { max_tokens = 5 }')
    description, path = load_description(pinned)
    chat = resolve(description, path).scenarios["chat"]
    assert fill(chat.spec.body, chat.values(rng, "m"))["max_tokens"] == 5


def test_the_stock_preset_sends_synthetic_prompts_with_their_max_tokens() -> None:
    """openai-synthetic's rows: prompts of 128-1024 tokens, max_tokens 128, the rule stated."""
    description, path = load_description("openai-synthetic")
    plan = resolve(description, path, phase="smoke")
    chat = plan.scenarios["chat"]
    stated = plan.datasets()["chat"]
    assert stated["kind"] == "synthetic" and stated["samples"] == 1000
    assert stated["token_rule"] in ("words", "tiktoken:cl100k_base")
    assert isinstance(chat.dataset, SyntheticDataset) and chat.stream_share == 1.0
    values = chat.values(random.Random(1), "m")
    body = fill(chat.spec.body, values)
    assert body["max_tokens"] == values["output_tokens"] == 128
    assert 128 <= values["prompt_tokens"] <= 1024


@pytest.mark.parametrize(
    ("table", "field", "expected"),
    [
        ("prompt_tokens = 0\noutput_tokens = 5", "prompt_tokens.value",
         "got 0, expected a number >= 1"),
        ('prompt_tokens = "512"\noutput_tokens = 5', "prompt_tokens", "expected a whole number"),
        ('prompt_tokens = { dist = "normal", mean = 512 }\noutput_tokens = 5', "prompt_tokens",
         'expected stdev in it: dist "normal" needs mean and stdev'),
        ('prompt_tokens = 5\noutput_tokens = { dist = "uniform", min = 9, max = 3 }',
         "output_tokens", "expected max >= min, got min 9 and max 3"),
        ('prompt_tokens = { dist = "normal", mean = 50, stdev = 5, min = 60 }\noutput_tokens = 5',
         "prompt_tokens", "expected min <= mean <= max, got min 60, mean 50, max 1000000"),
        ('prompt_tokens = { dist = "uniform", min = 1, max = 9, mean = 4 }\noutput_tokens = 5',
         "prompt_tokens", 'expected no mean in it: dist "uniform" takes min, max'),
        ('prompt_tokens = { dist = "gamma", mean = 5 }\noutput_tokens = 5', "prompt_tokens.dist",
         "expected one of 'fixed', 'uniform' or 'normal'"),
        ("prompt_tokens = 5", "output_tokens", "missing"),
        ("prompt_tokens = 5\noutput_tokens = 5\nsamles = 3", "samles", "unknown field"),
    ],
)  # fmt: skip
def test_a_bad_synthetic_table_is_one_line_naming_the_file_and_field(
    tmp_path: Path, table: str, field: str, expected: str
) -> None:
    path = _write(tmp_path, f"[scenarios.chat.synthetic]\n{table}\n")
    with pytest.raises(DescriptionError) as info:
        load_description(path)
    message = str(info.value)
    assert message.startswith(f'{path}: field "scenarios.chat.synthetic.{field}"'), message
    assert expected in message and "\n" not in message


def test_a_dataset_and_a_synthetic_table_together_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, 'dataset = "x"\n[scenarios.chat.synthetic]\nprompt_tokens = 5\n'
                            "output_tokens = 5\n")  # fmt: skip
    with pytest.raises(DescriptionError, match="dataset or synthetic, not both"):
        load_description(path)


def test_an_unknown_corpus_or_a_missing_tiktoken_names_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tiktoken", None)
    table = "[scenarios.chat.synthetic]\nprompt_tokens = 5\noutput_tokens = 5\n"
    message = _plan_error(tmp_path, table + 'corpus = "nope"')
    assert "\"scenarios.chat.synthetic.corpus\": unknown corpus 'nope'" in message
    assert "stdlib_docstrings" in message
    message = _plan_error(tmp_path, table + 'corpus = "texts/none.txt"')
    assert '"scenarios.chat.synthetic.corpus": corpus ' in message and "not found" in message
    message = _plan_error(tmp_path, table + 'tokenizer = "tiktoken"')
    assert message.endswith(
        '"scenarios.chat.synthetic.tokenizer": tiktoken is not installed, expected '
        '"pip install tiktoken" or tokenizer = "words"'
    )


def test_a_corpus_path_is_relative_to_the_description(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("alpha beta gamma delta\n")
    path = _write(tmp_path, '[scenarios.chat.synthetic]\nprompt_tokens = 6\noutput_tokens = 2\n'
                            'corpus = "mine.txt"\ntokenizer = "words"\nsamples = 4')  # fmt: skip
    description, where = load_description(path)
    rows = resolve(description, where).scenarios["chat"].dataset
    assert isinstance(rows, SyntheticDataset)
    assert set(rows.row(0)["prompt"].split()) == {"alpha", "beta", "gamma", "delta"}


def test_a_bad_synthetic_table_stops_the_run_before_load_with_exit_2(tmp_path: Path) -> None:
    path = _write(tmp_path, "[scenarios.chat.synthetic]\nprompt_tokens = 5\n"
                            'output_tokens = { dist = "normal", mean = 5 }\n')  # fmt: skip
    host = f"http://127.0.0.1:{free_port()}"
    done = run_agentload(["run", "smoke", "--api", str(path), "--host", host, "--no-prometheus",
                          "--out", str(tmp_path / "run")], timeout=60)  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert f'{path}: field "scenarios.chat.synthetic.output_tokens": got a table, expected stdev' \
        in done.stderr  # fmt: skip
