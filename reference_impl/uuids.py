"""UUIDs as Placement reads them: lenient in form, stored in one canonical form."""

from __future__ import annotations

import uuid


def canonical(text: str) -> str | None:
    """`text` as a lower-case dashed UUID, or None if it is not one.

    Placement accepts a UUID without dashes, in upper case or in braces, and stores it
    dashed and in lower case; it refuses anything that only parses by luck (such as a
    string of 32 hex digits with dashes in odd places).
    """
    try:
        value = uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return None
    bare = text.lower()
    for wrapping in ("urn:", "uuid:", "{", "}", "-"):
        bare = bare.replace(wrapping, "")
    return str(value) if bare == value.hex else None
