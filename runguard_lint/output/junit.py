"""`--output-format junit`: JUnit XML, for CI systems that show test reports (Jenkins, GitLab).

Ruff's convention: a `<testsuites name="runguard-lint">` with one `<testsuite>`
per file with findings and one failing `<testcase>` per finding (an internal
error on a file is an `<error>` test case); with no findings, a single passing
test case, so a report is never empty. Built with ElementTree, which escapes
markup; characters XML 1.0 cannot carry at all are replaced by U+FFFD.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from itertools import groupby

from runguard_lint.diagnostics import Diagnostic, FileError
from runguard_lint.output import ReportContext

TOOL = "runguard-lint"

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` with the characters XML 1.0 forbids (NUL, C0 controls, lone surrogates) replaced."""
    return _NOT_XML.sub("\ufffd", text)


def _suite(parent: ET.Element, name: str, tests: int, failures: int, errors: int) -> ET.Element:
    return ET.SubElement(
        parent,
        "testsuite",
        {
            "name": xml_text(name),
            "tests": str(tests),
            "failures": str(failures),
            "errors": str(errors),
            "skipped": "0",
        },
    )


def _failure_case(suite: ET.Element, diagnostic: Diagnostic) -> None:
    row, column = diagnostic.location.row, diagnostic.location.column
    filename = xml_text(diagnostic.filename)
    case = ET.SubElement(
        suite,
        "testcase",
        {
            "name": f"{TOOL}.{diagnostic.code}",
            "classname": filename,
            "file": filename,
            "line": str(row),
            "column": str(column),
        },
    )
    failure = ET.SubElement(
        case,
        "failure",
        {
            "message": xml_text(diagnostic.message),
            "type": diagnostic.code,
        },
    )
    failure.text = xml_text(
        f"{diagnostic.filename}:{row}:{column}: {diagnostic.code} {diagnostic.message}"
    )


def _error_case(suite: ET.Element, error: FileError) -> None:
    filename = xml_text(error.filename)
    case = ET.SubElement(
        suite,
        "testcase",
        {
            "name": f"{TOOL}.internal-error",
            "classname": filename,
            "file": filename,
        },
    )
    element = ET.SubElement(
        case, "error", {"message": xml_text(error.message), "type": "internal-error"}
    )
    element.text = xml_text(f"{error.filename}: {error.message}")


def render(diagnostics: Sequence[Diagnostic], context: ReportContext) -> str:
    ordered = sorted(diagnostics, key=lambda d: d.sort_key)
    by_file: dict[str, list[Diagnostic]] = {
        name: list(group) for name, group in groupby(ordered, key=lambda d: d.filename)
    }
    errors_by_file: dict[str, list[FileError]] = {}
    for error in context.errors:
        errors_by_file.setdefault(error.filename, []).append(error)
    failures, errors = len(ordered), len(context.errors)
    root = ET.Element(
        "testsuites",
        {
            "name": TOOL,
            "tests": str(max(1, failures + errors)),
            "failures": str(failures),
            "errors": str(errors),
        },
    )
    if not failures and not errors:
        suite = _suite(root, TOOL, 1, 0, 0)
        ET.SubElement(suite, "testcase", {"name": "No errors found", "classname": TOOL})
    for filename in sorted(set(by_file) | set(errors_by_file)):
        found = by_file.get(filename, [])
        crashed = sorted(errors_by_file.get(filename, []), key=lambda e: e.message)
        suite = _suite(root, filename, len(found) + len(crashed), len(found), len(crashed))
        for diagnostic in found:
            _failure_case(suite, diagnostic)
        for error in crashed:
            _error_case(suite, error)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
