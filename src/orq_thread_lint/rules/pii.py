"""Detectors for personal data and secrets in a string (OTL006).

Every expression here is linear: no quantified group overlaps its neighbour, and cheap
character tests run first so the common id costs a few membership checks.
"""

from __future__ import annotations

import ipaddress
import re

# One character of the local part is enough to anchor on; the domain's labels are separated
# by dots that the label class excludes, so the group can't backtrack.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_PHONE = re.compile(r"(?<![\w+])\+[1-9]\d{7,14}(?!\d)|(?<!\w)\(\d{3}\) ?\d{3}-\d{4}(?!\d)")
_CARD = re.compile(r"(?<!\d)(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7})(?!\d)")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\d.])(?:{_OCTET}\.){{3}}{_OCTET}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![0-9A-Fa-f:])")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_KEY = re.compile(
    r"(?<![A-Za-z0-9])(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35})"
)
_CARD_PREFIX = re.compile(r"4|5[1-5]|2[2-7]|3[47]|6(?:011|5|4[4-9])")


_CARD_HINT = re.compile(r"\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _has_key(text: str) -> bool:
    if len(text) < 15 or not ("k_" in text or "sk-" in text or "gh" in text or "xox" in text
                              or "AKIA" in text or "AIza" in text):
        return False
    return _KEY.search(text) is not None


def _has_card(text: str) -> bool:
    if len(text) < 13 or not _CARD_HINT.search(text):
        return False
    for m in _CARD.finditer(text):
        digits = m.group(0).replace(" ", "").replace("-", "")
        if _CARD_PREFIX.match(digits) and _luhn(digits):
            return True
    return False


def _top_level(labels: list[str]) -> bool:
    """Whether a domain has a top-level label, where the id may go on after it with ``-`` or ``.``
    (``alice@corp.io-s3``, ``bob@example.com.7``): a label of two letters or more before any dash."""
    for label in labels:
        head = label.split("-", 1)[0]
        if len(head) >= 2 and head.isalpha():
            return True
    return False


def find_pii(text: str) -> str | None:
    """What kind of personal data or secret ``text`` holds, or None."""
    if text.replace("-", "").replace("_", "").isalnum():
        # Only letters, digits, '-' and '_': no e-mail, phone, IP or JWT can be in it.
        if len(text) < 13:
            return None  # too short for a key or a card number
        if _has_key(text):
            return "an API key"
        return "a payment-card number" if _has_card(text) else None
    if "@" in text and any(map(_top_level, (m.group(1).split(".")[1:] for m in _EMAIL.finditer(text)))):
        return "an e-mail address"
    if "eyJ" in text and _JWT.search(text):
        return "a JWT-like token"
    if _has_key(text):
        return "an API key"
    if ("+" in text or "(" in text) and _PHONE.search(text):
        return "a phone number"
    if "." in text and _IPV4.search(text):
        return "an IP address"
    if text.count(":") >= 2:
        for m in _IPV6.finditer(text):
            candidate = m.group(0)
            groups = [g for g in candidate.split(":") if g]
            if len(groups) >= 3 and ("::" in candidate or candidate.count(":") == 7):
                try:
                    ipaddress.IPv6Address(candidate)
                except ValueError:
                    continue
                return "an IP address"
    return "a payment-card number" if _has_card(text) else None
