"""The standard resource classes and traits every Placement deployment knows.

They come from the libraries Placement itself takes them from, `os-resource-classes` and
`os-traits`, at the versions Placement 16.0.0 ships with (pyproject.toml pins them).
Clients may use them without creating them; they cannot be deleted.
"""

import os_resource_classes
import os_traits

# In the library's canonical order, which is the order Placement lists them in.
STANDARD_RESOURCE_CLASSES: tuple[str, ...] = tuple(os_resource_classes.STANDARDS)

STANDARD_TRAITS: tuple[str, ...] = tuple(os_traits.get_traits())


def is_standard_trait(name: str) -> bool:
    """Whether `name` is a standard trait by its form: upstream refuses to delete any trait
    that is not custom, whether or not the library lists it."""
    return not os_traits.is_custom(name)
