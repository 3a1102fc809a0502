"""`--explain CODE` and `--list-rules`: the rule docs from rules/, rendered with rich."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from runguard_lint.catalog import Catalog

_DEFAULT_LABEL = {"on": "on", "off": "off", "preview": "preview (off)"}


def explain_rule(
    catalog: Catalog, code: str, *, color: bool = False, width: int = 100
) -> str | None:
    """The rule's doc in Ruff's sections, wrapped to width, or None for an unknown code."""
    rule = catalog.rules.get(code)
    if rule is None:
        return None
    parts = [
        f"# {rule.code} ({rule.name})",
        "",
        rule.summary,
        "",
        f"Default: {_DEFAULT_LABEL[rule.default]}. Fix: {rule.fix}.",
        "",
    ]
    for title, body, is_code in (
        ("What it does", rule.what, False),
        ("Why is this bad?", rule.why, False),
        ("Example", rule.example, True),
        ("Use instead", rule.use_instead, True),
        ("Fix safety", rule.fix_safety, False),
    ):
        if body:
            parts += [f"## {title}", "", f"```python\n{body}\n```" if is_code else body, ""]
    kinds = [kind for kind in catalog.resources if kind.rule == code]
    if kinds:
        parts += ["## Resources", ""]
        for kind in kinds:
            release = ", ".join(kind.release or kind.owner_release) or "none"
            parts.append(
                f"- `{kind.display_name}`: released by {release}; context manager: "
                f"{kind.context_manager}{'' if kind.with_closes else ' (does not close)'}"
            )
        parts.append("")
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width)
    console.print(Markdown("\n".join(parts)))
    return buffer.getvalue()


def list_all_rules(catalog: Catalog, *, color: bool = False, width: int = 100) -> str:
    """A table: code, name, default, fix; its columns wrapped to fit width."""
    table = Table(title="runguard-lint rules")
    # Nothing is cut short: a code never wraps, a word too long for its column folds.
    table.add_column("Code", no_wrap=True)
    table.add_column("Name", overflow="fold")
    table.add_column("Default")
    table.add_column("Fix", overflow="fold")
    for code in sorted(catalog.rules):
        rule = catalog.rules[code]
        table.add_row(rule.code, rule.name, _DEFAULT_LABEL[rule.default], rule.fix)
    buffer = io.StringIO()
    Console(file=buffer, force_terminal=color, no_color=not color, width=width).print(table)
    return buffer.getvalue()
