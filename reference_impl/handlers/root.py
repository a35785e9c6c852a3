"""GET /: the version document, which clients read before anything else."""

from placement_spec import MINIMUM
from reference_impl import context


def versions():
    return context.respond({
        "versions": [{
            "id": f"v{MINIMUM}",
            "max_version": str(context.state().maximum),
            "min_version": str(MINIMUM),
            "status": "CURRENT",
            "links": [{"rel": "self", "href": ""}],
        }]
    })
