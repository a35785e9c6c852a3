"""Uuid-like text as Placement reads it: any case, with or without dashes, braces or a
`urn:uuid:` prefix, all naming the same uuid."""

from __future__ import annotations

import re
import uuid

_DECORATION = re.compile(r"urn:|uuid:|[{}-]")


def is_uuid_like(text: str) -> bool:
    """Whether Placement would read `text` as a uuid."""
    digits = _DECORATION.sub("", text.lower())
    return len(digits) == 32 and all(c in "0123456789abcdef" for c in digits)


def canonical(text: str) -> str:
    """The lower-case dashed form Placement stores a uuid-like value in; other text comes
    back as it is, naming nothing."""
    if not is_uuid_like(text):
        return text
    return str(uuid.UUID(hex=_DECORATION.sub("", text.lower())))
