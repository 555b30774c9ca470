"""``--format junit``: one test case per finding, grouped by file, for CI test reporters."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TextIO
from xml.etree import ElementTree as ET

from . import Finding, Options

# Characters XML 1.0 can't hold at all, not even as a character reference: C0 controls other than
# tab, newline and carriage return, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Text any XML 1.0 parser accepts: each character XML can't hold is written as ``\\xNN``
    (``\\uNNNN``), the way Python writes it, so a file name stays recognisable."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def render(findings: Sequence[Finding], out: TextIO, opts: Options) -> None:
    suites = ET.Element("testsuites", name="orq-thread-lint", tests=str(len(findings)), failures=str(len(findings)))
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.filename, []).append(f)
    for filename, group in by_file.items():
        name = _xml_text(filename)
        suite = ET.SubElement(suites, "testsuite", name=name, tests=str(len(group)), failures=str(len(group)))
        for f in group:
            message = _xml_text(f.violation.message)
            case = ET.SubElement(suite, "testcase", name=_xml_text(f"{f.code} {f.violation.name}"),
                                 classname=name, file=name, line=str(f.row))
            failure = ET.SubElement(case, "failure", message=message, type=_xml_text(f.code))
            failure.text = f"{name}:{f.row}:{f.column}: {_xml_text(f.code)} {message}"
    if not findings:
        ET.SubElement(suites, "testsuite", name="orq-thread-lint", tests="0", failures="0")
    out.write(ET.tostring(suites, encoding="unicode", xml_declaration=True))
    out.write("\n")
