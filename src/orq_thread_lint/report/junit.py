"""``--format junit``: one test case per finding, grouped by file, for CI test reporters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO
from xml.etree import ElementTree as ET

from . import Finding, Options


def render(findings: Sequence[Finding], out: TextIO, opts: Options) -> None:
    suites = ET.Element("testsuites", name="orq-thread-lint", tests=str(len(findings)), failures=str(len(findings)))
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.filename, []).append(f)
    for filename, group in by_file.items():
        suite = ET.SubElement(suites, "testsuite", name=filename, tests=str(len(group)), failures=str(len(group)))
        for f in group:
            case = ET.SubElement(suite, "testcase", name=f"{f.code} {f.violation.name}",
                                 classname=filename, file=filename, line=str(f.row))
            failure = ET.SubElement(case, "failure", message=f.violation.message, type=f.code)
            failure.text = f"{filename}:{f.where}: {f.code} {f.violation.message}"
    if not findings:
        ET.SubElement(suites, "testsuite", name="orq-thread-lint", tests="0", failures="0")
    out.write(ET.tostring(suites, encoding="unicode", xml_declaration=True))
    out.write("\n")
