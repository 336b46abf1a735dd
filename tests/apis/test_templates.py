"""Request templates: typed whole-string values, text substitution, braces, unknown names."""

from __future__ import annotations

import pytest

from agentload.apis.templates import TemplateError, compile_template, fill, names

VALUES = {"model": "gpt-x", "max_tokens": 256, "stream": True, "stop": ["\n"], "prompt": "{x}"}


def test_a_whole_string_placeholder_keeps_the_value_type() -> None:
    body = {"max_tokens": "{max_tokens}", "stream": "{stream}", "stop": "{stop}"}
    assert fill(body, VALUES) == {"max_tokens": 256, "stream": True, "stop": ["\n"]}


def test_placeholders_inside_text_become_strings() -> None:
    assert fill("/v1/{model}/x?n={max_tokens}", VALUES) == "/v1/gpt-x/x?n=256"


def test_nested_objects_and_lists_are_filled_and_other_values_kept() -> None:
    template = {"messages": [{"role": "user", "content": "{prompt}"}], "n": 1, "t": None}
    assert fill(template, VALUES) == {
        "messages": [{"role": "user", "content": "{x}"}],
        "n": 1,
        "t": None,
    }


def test_values_are_not_templates_themselves() -> None:
    assert fill("say {prompt}", VALUES) == "say {x}"


def test_doubled_braces_are_literal_braces() -> None:
    assert fill("{{model}} is {{{model}}}", VALUES) == "{model} is {gpt-x}"
    assert fill("{{", {}) == "{" and fill("}}", {}) == "}"


def test_braces_around_a_non_name_are_literal() -> None:
    assert fill('{"a": 1} { model } {1}', VALUES) == '{"a": 1} { model } {1}'


def test_object_keys_are_not_templates() -> None:
    assert fill({"{model}": "{model}"}, VALUES) == {"{model}": "gpt-x"}


def test_an_unknown_name_raises_a_template_error_naming_it() -> None:
    with pytest.raises(TemplateError, match="'question'") as info:
        fill({"q": ["{question}"]}, VALUES)
    assert isinstance(info.value, ValueError)


def test_names_lists_every_placeholder_but_not_escaped_ones() -> None:
    template = {"a": "{model}/{unique}", "b": ["{{literal}}", 3, {"c": "{depth}"}]}
    assert names(template) == {"model", "unique", "depth"}
    assert names(None) == set() and names("plain") == set()


def test_a_compiled_template_fills_like_fill() -> None:
    template = {"a": ["{model}", "n={max_tokens}"], "b": "{stream}", "c": 2}
    assert compile_template(template)(VALUES) == fill(template, VALUES)
