"""The code-gen agent's steps around the engine call: prompt, code extraction, validation."""

from __future__ import annotations

import ast
import re
import warnings

from target_service.api.schemas import CodegenRequest

_FENCE = re.compile(r"```[\w+-]*[ \t]*\n(.*?)(?:\n```|\Z)", re.DOTALL)


def build_messages(request: CodegenRequest) -> list[dict[str, str]]:
    """The chat messages for one code-gen request."""
    system = (
        f"You are a coding agent. Write {request.language} code that does what the user asks. "
        "Answer with the code only."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": request.prompt}]


def extract_code(text: str) -> str:
    """The code in an answer: the first fenced block if there is one, else the whole text."""
    match = _FENCE.search(text)
    return (match.group(1) if match else text).strip("\n")


def is_valid(code: str, language: str) -> bool:
    """Whether `code` parses as `language` (Python: `ast.parse`); empty code is invalid."""
    if not code.strip():
        return False
    if language == "python":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(code)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
        return True
    raise ValueError(f"no validator for language {language!r}")
