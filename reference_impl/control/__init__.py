"""The control API and the layer in front of the Placement API that it steers.

With `placement-ref serve --control` only: a client developer's tests reset the server
between tests, read the requests it received, and make it fail on purpose. Everything
lives under `PREFIX`, which no Placement path can begin with; without `--control` the
layer is not installed and the prefix is a path Placement does not know (404).

- `layer.py`: the outermost ASGI layer: admits control requests with the admin token,
  and keeps the journal and injects faults for every other request;
- `handlers.py`: the control API's operations (`spec/control.yaml`);
- `journal.py`, `faults.py`: the journal and the faults, in each worker's memory.
"""

PREFIX = "/_placement_ref"
