"""A seeded differential test: random walks sent to upstream Placement and to the reference
server, answer by answer.

`tests/test_upstream_parity.py` compares the two servers on a fixed script. A script only
finds what its author thought of; this package sends *walks* instead: a seeded random
sequence of requests over every operation of the spec, at microversions chosen per
request, valid and invalid, to both servers from empty databases, and compares every
answer (status, headers, body, error texts) after a small, stated normalisation.

The pieces, each in a module of its own:

- `world`: the small model of what the walk has created (providers, classes, inventories,
  consumers), so that most requests name things that exist, with the right generations;
- `repertoire`: the requests the walk can make, each built from the model, each with the
  change it makes to the model when upstream accepts it;
- `variants`: invalid twists applied to any request (token, Accept, content type,
  microversion header, malformed JSON, unknown paths, wrong methods);
- `normalise`: what is set aside before answers are compared, in one place;
- `strict`: the differences allowed when the reference server runs with `--strict`;
- `walk`: one seed's walk against two running servers, and its differences;
- `servers`: both servers started from empty databases;
- `__main__`: `python -m tests.differential`, for long runs.

A seed reproduces its walk exactly: every choice comes from `random.Random(seed)`, and
every uuid the walk sends is drawn from it too.
"""
