"""Fixes write lines as the project's formatter would: its line length, its target Python.

The lines a fix creates or changes are wrapped to the `line-length` of the
checked project's Ruff (or Black) configuration, and `ruff format --check`
(the real formatter, from the test extra) agrees with every wrapped line; the
user's own lines are never re-wrapped.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runguard_lint.code_style import CodeStyle, project_style
from runguard_lint.fixes.wrap import wrap_written_lines
from tests.conftest import run_cli


def ruff_format_check(path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--diff", *options, str(path)],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- the fixer, end to end ---------------------------------------------------------------

PYPROJECT = """\
[project]
name = "app"
version = "1"
requires-python = ">=3.9"
dependencies = ["httpx", "runguard-runtime"]

[tool.ruff]
line-length = 60
"""

APP = """\
import httpx


def fetch(url: str, token: str) -> bytes:
    client = httpx.Client(timeout=10, headers=auth(token))
    response = client.get(url)
    return response.content


def log(path, lines):
    for line in lines:
        print(line, file=open(path, "a", encoding="utf-8"))


_squares_seen_so_far = {}  # a memo of every square


def square(n):
    if n in _squares_seen_so_far:
        return _squares_seen_so_far[n]
    _squares_seen_so_far[n] = _compute(n)
    return _squares_seen_so_far[n]


def _compute(n):
    return n * n


def auth(token):
    return {"authorization": token}
"""

FIXED = """\
import httpx
from runguard_runtime import BoundedCache, ResourceScope


def fetch(url: str, token: str) -> bytes:
    with httpx.Client(
        timeout=10, headers=auth(token)
    ) as client:
        response = client.get(url)
        return response.content


def log(path, lines):
    for line in lines:
        with ResourceScope("log") as scope:
            print(
                line,
                file=scope.enter(
                    open(path, "a", encoding="utf-8")
                ),
            )


_squares_seen_so_far = BoundedCache(
    maxsize=10_000
)  # a memo of every square


def square(n):
    if n in _squares_seen_so_far:
        return _squares_seen_so_far[n]
    _squares_seen_so_far[n] = _compute(n)
    return _squares_seen_so_far[n]


def _compute(n):
    return n * n


def auth(token):
    return {"authorization": token}
"""


def test_fixes_wrap_their_lines_to_the_projects_line_length(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    app = tmp_path / "app.py"
    app.write_text(APP, encoding="utf-8")
    # The premise: the user's code is formatted at 60 columns before the fix.
    assert ruff_format_check(app).returncode == 0

    # One fix per finding and run: a second run applies what the first left.
    for _ in range(2):
        result = run_cli("--fix", "--unsafe-fixes", "--no-cache", "app.py", cwd=tmp_path)
        assert result.returncode in (0, 1), result.stdout + result.stderr
    fixed = app.read_text(encoding="utf-8")
    assert fixed == FIXED
    compile(fixed, "app.py", "exec", dont_inherit=True)
    assert max(len(line) for line in fixed.splitlines()) <= 60
    checked = ruff_format_check(app)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    again = run_cli("--fix", "--unsafe-fixes", "--no-cache", "app.py", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert app.read_text(encoding="utf-8") == FIXED


def test_the_default_line_length_is_88(tmp_path: Path) -> None:
    """No formatter config: 88 columns, Ruff's and Black's default."""
    app = tmp_path / "app.py"
    call = "httpx.Client(timeout=10, headers=auth(token), base_url=the_base_url_x)"
    app.write_text(
        f"import httpx\n\n\ndef fetch(url, token, the_base_url_x):\n    client = {call}\n"
        "    return client.get(url).content\n",
        encoding="utf-8",
    )
    result = run_cli("--fix", "--no-cache", "app.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    fixed = app.read_text(encoding="utf-8")
    # `    with <call> as client:` is 90 columns: wrapped inside the call.
    assert (
        "    with httpx.Client(\n"
        "        timeout=10, headers=auth(token), base_url=the_base_url_x\n"
        "    ) as client:\n"
        "        return client.get(url).content\n"
    ) in fixed


def test_the_users_own_lines_are_never_rewrapped(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 40\n", encoding="utf-8")
    long_user_line = '    data = client.get(url, params={"q": "a long query"}).json()'
    text = (
        "import httpx\n\n\ndef fetch(url):\n    client = httpx.Client()\n"
        f"{long_user_line}\n    return data\n\n\n"
        'UNTOUCHED = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}\n'
    )
    (tmp_path / "app.py").write_text(text, encoding="utf-8")
    result = run_cli("--fix", "--no-cache", "app.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    fixed = (tmp_path / "app.py").read_text(encoding="utf-8")
    assert "    with httpx.Client() as client:\n" in fixed
    # Re-indented by the fix, but the user's line as written; and the untouched one too.
    assert "    " + long_user_line + "\n" in fixed
    assert 'UNTOUCHED = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}\n' in fixed


# --- the wrapping itself, against the real formatter ---------------------------------------

CASES = [
    # (created line, the wrapped lines it becomes at 60 columns)
    pytest.param(
        "from runguard_runtime import BoundedCache, ResourceScope, per_loop\n",
        "from runguard_runtime import (\n    BoundedCache,\n    ResourceScope,\n    per_loop,\n)\n",
        id="import",
    ),
    pytest.param(
        "    stack.callback(shutil.rmtree, path_to_something_long, ignore_errors=True)\n",
        "    stack.callback(\n"
        "        shutil.rmtree,\n"
        "        path_to_something_long,\n"
        "        ignore_errors=True,\n"
        "    )\n",
        id="exit-stack-line",
    ),
    pytest.param(
        "    x = foo(bar(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbb))\n",
        "    x = foo(\n"
        "        bar(\n"
        "            aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,\n"
        "            bbbbbbbbbbbbbb,\n"
        "        )\n"
        "    )\n",
        id="nested-calls",
    ),
    pytest.param(
        '    async with httpx.AsyncClient(timeout=10, headers={"a": tok}) as client:\n',
        "    async with httpx.AsyncClient(\n"
        '        timeout=10, headers={"a": tok}\n'
        "    ) as client:\n",
        id="async-with",
    ),
    pytest.param(
        "    return client.beta.threads.create(assistant_id_long).result(timeout=1).data\n",
        "    return (\n"
        "        client.beta.threads.create(assistant_id_long)\n"
        "        .result(timeout=1)\n"
        "        .data\n"
        "    )\n",
        id="fluent-chain",
    ),
    pytest.param(
        "    cache = BoundedCache(maxsize=10_000)  # a comment that makes it too long\n",
        "    cache = BoundedCache(\n"
        "        maxsize=10_000\n"
        "    )  # a comment that makes it too long\n",
        id="trailing-comment",
    ),
    pytest.param(
        '    print(f"{user_name}: {len(items)} items", file=scope.enter(open(p, "a")))\n',
        "    print(\n"
        '        f"{user_name}: {len(items)} items",\n'
        '        file=scope.enter(open(p, "a")),\n'
        "    )\n",
        id="f-string",
    ),
    pytest.param(
        # A lambda's commas are not the call's.
        "    some_function(lambda first_argument, second_arg: first_argument)\n",
        "    some_function(\n        lambda first_argument, second_arg: first_argument\n    )\n",
        id="lambda",
    ),
    pytest.param(
        "    value = table[some_long_key_name, other_long_key_name, third_key_x]\n",
        "    value = table[\n        some_long_key_name, other_long_key_name, third_key_x\n    ]\n",
        id="subscript",
    ),
]


def _wrapped_module(line: str, style: CodeStyle) -> str:
    header = "" if not line.startswith(" ") else "async def f():\n"
    body = line + ("        pass\n" if line.rstrip().endswith(":") else "")
    return wrap_written_lines("", header + body, style, "    ")


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_a_written_line_is_wrapped_as_ruff_formats_it(
    line: str, expected: str, tmp_path: Path
) -> None:
    style = CodeStyle(line_length=60, target=(3, 9))
    module = _wrapped_module(line, style)
    assert expected in module, module
    assert ast.dump(ast.parse(module)) == ast.dump(ast.parse(_wrapped_module(line, CodeStyle())))
    target = tmp_path / "case.py"
    target.write_text(module, encoding="utf-8")
    checked = ruff_format_check(target, "--line-length", "60", "--target-version", "py39")
    assert checked.returncode == 0, checked.stdout + checked.stderr


WITH_ITEMS = "    with ExitStack() as stack, httpx.Client(timeout=10, base_url=url) as client:\n"


def test_several_with_items_are_parenthesized_only_for_python_3_10(tmp_path: Path) -> None:
    """Parenthesized context managers are Python 3.10 grammar: for an older target the
    split goes inside the last item's call, with no backslash."""
    newer = _wrapped_module(WITH_ITEMS, CodeStyle(line_length=60, target=(3, 10)))
    assert (
        "    with (\n"
        "        ExitStack() as stack,\n"
        "        httpx.Client(timeout=10, base_url=url) as client,\n"
        "    ):\n"
    ) in newer
    older = _wrapped_module(WITH_ITEMS, CodeStyle(line_length=60, target=(3, 9)))
    assert (
        "    with ExitStack() as stack, httpx.Client(\n"
        "        timeout=10, base_url=url\n"
        "    ) as client:\n"
    ) in older
    unknown = _wrapped_module(WITH_ITEMS, CodeStyle(line_length=60))
    assert unknown == older
    for module, version in ((newer, "py310"), (older, "py38")):
        target = tmp_path / f"{version}.py"
        target.write_text(module, encoding="utf-8")
        checked = ruff_format_check(target, "--line-length", "60", "--target-version", version)
        assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    "line",
    [
        # A pragma comment does not count in the width (as in Ruff).
        "    client = httpx.Client(timeout=10)  # noqa: E501 and more words here\n",
        # Nothing to split at.
        "    result = some_module.some_attribute.another_attribute.final_one\n",
    ],
)
def test_lines_left_as_written(line: str) -> None:
    module = _wrapped_module(line, CodeStyle(line_length=60))
    assert line in module


def test_only_new_lines_are_wrapped() -> None:
    old = "x = [aaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbb, cccccccccccccc]\n"
    new = old + "y = [aaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbb, cccccccccccccc]\n"
    wrapped = wrap_written_lines(old, new, CodeStyle(line_length=60), "    ")
    assert wrapped.startswith(old)
    assert wrapped[len(old) :].startswith("y = [\n")


def test_wrapped_lines_keep_the_line_endings() -> None:
    line = "x = [aaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbb, cccccccccccccc]"
    style = CodeStyle(line_length=60)
    crlf = wrap_written_lines("", line + "\r\n", style, "    ")
    assert crlf.endswith("\r\n") and crlf.count("\r\n") == len(crlf.splitlines()) > 1
    assert "\n" not in crlf.replace("\r\n", "")
    unended = wrap_written_lines("", line, style, "    ")
    assert unended.startswith("x = [\n") and unended.endswith("]")


def test_line_separators_inside_strings_do_not_shift_the_rows() -> None:
    """A form feed or U+2028 in a string is no line break for Python: the row that is
    wrapped is the statement's, never a line of the string's text."""
    new = (
        's = """text\x0c with a form feed\u2028and a line separator\n'
        "y = [aaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbb, cccccccccccccc]\n"
        '"""\n'
        "x = [aaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbb, cccccccccccccc]\n"
    )
    wrapped = wrap_written_lines("", new, CodeStyle(line_length=60), "    ")
    head = new[: new.index("x = ")]
    assert wrapped.startswith(head)
    assert wrapped[len(head) :].startswith("x = [\n")


def test_a_line_inside_a_bracketed_span_is_left_alone() -> None:
    new = textwrap.dedent(
        """\
        x = call(
            aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa(bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb),
        )
        s = '''
        a line of text in a string with (brackets, and, commas, that, is, long)
        '''
        """
    )
    assert wrap_written_lines("", new, CodeStyle(line_length=60), "    ") == new


# --- where the style comes from -------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, CodeStyle(88, None)),
        ({"pyproject.toml": "[tool.ruff]\nline-length = 100\n"}, CodeStyle(100, None)),
        ({"pyproject.toml": "[tool.black]\nline-length = 79\n"}, CodeStyle(79, None)),
        (
            {
                "pyproject.toml": (
                    '[tool.black]\nline-length = 79\ntarget-version = ["py311", "py39"]\n'
                )
            },
            CodeStyle(79, (3, 9)),
        ),
        (
            {
                "pyproject.toml": (
                    '[project]\nrequires-python = ">=3.10"\n[tool.ruff]\nline-length = 70\n'
                ),
                "ruff.toml": "line-length = 120\n",
            },
            CodeStyle(120, (3, 10)),
        ),
        (
            {"ruff.toml": 'target-version = "py312"\n', ".ruff.toml": "line-length = 99\n"},
            CodeStyle(99, None),
        ),
        ({"pyproject.toml": '[project]\nrequires-python = "~=3.11"\n'}, CodeStyle(88, (3, 11))),
    ],
)
def test_project_style(tmp_path: Path, files: dict[str, str], expected: CodeStyle) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "pkg").mkdir()
    assert project_style(tmp_path / "pkg" / "mod.py") == expected


def test_the_nearest_formatter_config_decides_whole(tmp_path: Path) -> None:
    """A Ruff config without `line-length` means 88, not a parent's value (as in Ruff)."""
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 120\n", encoding="utf-8")
    inner = tmp_path / "sub"
    inner.mkdir()
    (inner / "ruff.toml").write_text('target-version = "py310"\n', encoding="utf-8")
    assert project_style(inner / "x.py") == CodeStyle(88, (3, 10))
    assert project_style(tmp_path / "x.py") == CodeStyle(120, None)
