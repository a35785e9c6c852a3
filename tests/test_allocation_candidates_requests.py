"""GET /allocation_candidates refuses what upstream Placement 16.0.0 refuses, in its order
and with its words: each malformed query string below, at the microversions where its
answer changes, and seeded random garbage, get the same status, error code and detail
from upstream and from the reference server. Both run on empty databases, so a query
that passes every check is answered with no candidates by both.

Whatever the query string, the reference server never answers 500. Upstream does, for a
`limit` whose first value is no integer when its last one is (it checks the last value
and reads the first): there the reference server answers the 400 the schema gives that
value, which the test checks instead.
"""

from __future__ import annotations

import json
import random
import re
from urllib.parse import quote

import httpx
import pytest

from tests.differential.messages import Answer
from tests.differential.normalise import normalise
from tests.parity_script import ADMIN_TOKEN
# Upstream and the reference server, each on an empty SQLite database, for the module.
from tests.test_upstream_parity import Servers, servers  # noqa: F401 (a fixture)

UUID = "5e08ea53-c4c6-448e-9334-ac4953de3cfa"
OTHER = "42896e0d-205d-4fe3-bd1e-100924931787"

# (microversion, query string as sent): every 400 of upstream's before its search, and a
# few of its search (an unknown class or trait), at the microversions where they change.
MALFORMED = [
    # Unknown keys, the schema's required `resources` and parameters before their time.
    ("1.10", ""), ("1.10", "resources=VCPU:1&foo=bar"), ("1.10", "resources1=VCPU:1"),
    ("1.10", "resources=VCPU:1&limit=1"), ("1.16", "resources=VCPU:1&required=HW_CPU_X86_VMX"),
    ("1.17", f"resources=VCPU:1&member_of={UUID}"), ("1.24", "resources1=VCPU:1"),
    ("1.25", f"resources=VCPU:1&in_tree={UUID}"), ("1.30", f"resources1=VCPU:1&in_tree1={UUID}"),
    ("1.34", "resources=VCPU:1&root_required=HW_CPU_X86_VMX"),
    ("1.35", "resources=VCPU:1&same_subtree=_A"),
    # The form of `resources`.
    ("1.10", "resources="), ("1.10", "resources=%20"), ("1.10", "resources=VCPU"),
    ("1.10", "resources=VCPU:1:2"), ("1.10", "resources=VCPU:x"), ("1.10", "resources=VCPU:0"),
    ("1.10", "resources=VCPU:-1"), ("1.10", "resources=VCPU:1,,MEMORY_MB:2"),
    ("1.10", "resources=VCPU:1,"), ("1.10", "resources=:1"), ("1.10", "resources=NOPE_RC:1"),
    ("1.10", "resources=VCPU:1&resources=VCPU:x"), ("1.10", "resources=VCPU:x&resources=VCPU:1"),
    ("1.10", "resources=VCPU:%201"), ("1.39", "resources=VCPU:1,MEMORY_MB:0"),
    # `limit`.
    ("1.16", "resources=VCPU:1&limit=0"), ("1.16", "resources=VCPU:1&limit=abc"),
    ("1.16", "resources=VCPU:1&limit="), ("1.16", "resources=VCPU:1&limit=-1"),
    ("1.16", "resources=VCPU:1&limit=1.5"), ("1.16", "resources=VCPU:1&limit=5&limit=abc"),
    ("1.16", "resources=VCPU:1&limit=0&limit=5"),
    # `required`, by microversion.
    ("1.17", "resources=VCPU:1&required="), ("1.17", "resources=VCPU:1&required=!HW_CPU_X86_VMX"),
    ("1.17", "resources=VCPU:1&required=A,,B"), ("1.17", "resources=VCPU:1&required=CUSTOM_NOPE"),
    ("1.17", "resources=VCPU:1&required=in:A,B"), ("1.22", "resources=VCPU:1&required=!"),
    ("1.22", "resources=VCPU:1&required=HW_CPU_X86_VMX,!HW_CPU_X86_VMX"),
    ("1.22", "resources=VCPU:1&required=!CUSTOM_NOPE"),
    ("1.38", "resources=VCPU:1&required=CUSTOM_NOPE&required=!HW_CPU_X86_VMX"),
    ("1.39", "resources=VCPU:1&required=in:A,!B"), ("1.39", "resources=VCPU:1&required=in:"),
    ("1.39", "resources=VCPU:1&required=in:A,,B"),
    ("1.39", "resources=VCPU:1&required=in:HW_CPU_X86_VMX&required=!HW_CPU_X86_VMX"),
    ("1.39", "resources=VCPU:1&required=in:HW_CPU_X86_VMX,HW_CPU_X86_SSE"
             "&required=!HW_CPU_X86_VMX"),
    # `member_of`, by microversion.
    ("1.21", "resources=VCPU:1&member_of=not-a-uuid"),
    ("1.21", f"resources=VCPU:1&member_of={UUID},{OTHER}"),
    ("1.21", f"resources=VCPU:1&member_of={UUID}&member_of={OTHER}"),
    ("1.21", f"resources=VCPU:1&member_of=!{UUID}"),
    ("1.24", f"resources=VCPU:1&member_of=in:{UUID},nope"),
    ("1.31", f"resources=VCPU:1&member_of=!{UUID}"),
    ("1.32", f"resources=VCPU:1&member_of=!in:{UUID},nope"),
    ("1.25", f"resources1=VCPU:1&member_of1={UUID}&member_of1={OTHER}&group_policy=none"),
    ("1.25", f"resources1=VCPU:1&member_of1=!{UUID}"),
    # Granular groups and group_policy.
    ("1.25", ""), ("1.25", "resources1=VCPU:1&resources2=VCPU:1"),
    ("1.25", "resources=VCPU:1&group_policy=foo"), ("1.25", "resources=VCPU:1&group_policy="),
    ("1.25", "resources1=VCPU:1&resources2=VCPU:1&group_policy=&group_policy=none"),
    ("1.25", "resources1=VCPU:1&resources2=VCPU:1&group_policy=foo&group_policy=none"),
    ("1.25", "required1=HW_CPU_X86_VMX"), ("1.25", f"member_of1={UUID}"),
    ("1.25", "resources=VCPU:1&required1=HW_CPU_X86_VMX"),
    ("1.25", f"resources=VCPU:1&member_of2={UUID}&required1=A"),
    ("1.25", "required1=!HW_CPU_X86_VMX"), ("1.25", "resources0=VCPU:1"),
    ("1.25", "resources_A=VCPU:1"), ("1.25", "resources1=VCPU:1&resources1=VCPU:x"),
    ("1.25", "resources1=VCPU:x&resources2=VCPU:1"),
    ("1.25", "resources1=VCPU:1&required1=HW_CPU_X86_VMX,!HW_CPU_X86_VMX"),
    ("1.33", "resources_NET=VCPU:1&resources_X=VCPU:1"), ("1.33", "resources" + "A" * 65 + "=VCPU:1"),
    ("1.33", "resources-_=VCPU:1&required-_=A,,B"), ("1.33", "resources.1=VCPU:1"),
    # in_tree.
    ("1.31", "resources=VCPU:1&in_tree=foo"), ("1.31", "resources1=VCPU:1&in_tree1="),
    ("1.31", f"in_tree={UUID}"), ("1.31", f"resources=VCPU:1&in_tree=%20{UUID}%20"),
    ("1.31", f"resources=VCPU:1&in_tree={UUID.replace('-', '')}"),
    # root_required.
    ("1.35", "resources=VCPU:1&root_required=A&root_required=B"),
    ("1.35", "resources=VCPU:1&root_required=in:A,B"),
    ("1.39", "resources=VCPU:1&root_required=in:A,B"),
    ("1.35", "resources=VCPU:1&root_required=HW_CPU_X86_VMX,!HW_CPU_X86_VMX"),
    ("1.35", "resources=VCPU:1&root_required="), ("1.35", "resources=VCPU:1&root_required=!"),
    ("1.35", "resources=VCPU:1&root_required=CUSTOM_NOPE"),
    ("1.35", "resources=VCPU:1&root_required=A,,B&same_subtree=x"),
    # same_subtree, and groups without resources.
    ("1.36", "resources=VCPU:1&same_subtree=,"), ("1.36", "resources=VCPU:1&same_subtree=_A"),
    ("1.36", "resources=VCPU:1&same_subtree=_A,%20"),
    ("1.36", "required_A=HW_CPU_X86_VMX"), ("1.36", "required_A=HW_CPU_X86_VMX&same_subtree=_A"),
    ("1.36", "resources=VCPU:1&required_A=HW_CPU_X86_VMX"),
    ("1.36", "resources=VCPU:1&required_A=HW_CPU_X86_VMX&same_subtree=_A,_B"),
    ("1.36", "required=HW_CPU_X86_VMX&resources_A=VCPU:1&same_subtree=_A"),
    ("1.36", "resources_A=VCPU:1&required_B=HW_CPU_X86_VMX&same_subtree=_A,_B"),
    ("1.36", ""), ("1.36", "same_subtree=_A"),
    ("1.36", "resources_A=VCPU:1&resources_B=VCPU:1&same_subtree=_A,_B"),
    # Odd bytes and text.
    ("1.39", "resources=VCPU:1&%FF=1"), ("1.39", "resources=VCPU:%FF"),
    ("1.39", "resources=VCPU%3A1"), ("1.39", "resources=VCPU:1&&"), ("1.39", "&resources=VCPU:1"),
    ("1.39", "resources=%E2%98%83:1"), ("1.39", "resources=VCPU:%D9%A3"),
    ("1.39", "resources1%0A=VCPU:1"), ("1.39", "resources=VCPU:1;required=A"),
]

# Where upstream answers 500, and what the reference server answers instead.
UPSTREAM_FAILS = {("1.16", "resources=VCPU:1&limit=abc&limit=5")}
MALFORMED += [(version, query) for version, query in sorted(UPSTREAM_FAILS)]

# Seeded garbage: keys and values of the operation and not, in any order and number.
KEYS = ["resources", "resources1", "resources_X", "required", "required1", "required_X",
        "member_of", "member_of1", "in_tree", "in_tree1", "group_policy", "limit",
        "root_required", "same_subtree", "resources0", "foo", "", "RESOURCES", "resources 1"]
VALUES = ["VCPU:1", "VCPU:0", "MEMORY_MB:1,VCPU:2", "HW_CPU_X86_VMX", "!HW_CPU_X86_VMX",
          "in:HW_CPU_X86_VMX,HW_CPU_X86_SSE", UUID, f"in:{UUID},{OTHER}", f"!{UUID}", "none",
          "isolate", "1", "0", "", ",", "!", "in:", "_X", "1,_X", "\u2603", "a=b", "%", " "]
GARBAGE_VERSIONS = ("1.10", "1.17", "1.25", "1.33", "1.36", "1.39")
GARBAGE_PER_VERSION = 25


# And raw text: the query string's own punctuation, and escapes of any byte.
PIECES = [*"resqiudtn_1=&;%!:,+-.~AZ", "resources", "required", "in:", "VCPU:1"]


def garbage(seed: int) -> list[tuple[str, str]]:
    chance = random.Random(seed)
    cases = []
    for version in GARBAGE_VERSIONS:
        for _ in range(GARBAGE_PER_VERSION):
            pairs = [(chance.choice(KEYS), chance.choice(VALUES))
                     for _ in range(chance.randint(0, 5))]
            cases.append((version, "&".join(f"{quote(key)}={quote(value)}"
                                            for key, value in pairs)))
            cases.append((version, "".join(
                chance.choice(PIECES) if chance.random() < 0.8 else f"%{chance.randrange(256):02X}"
                for _ in range(chance.randint(1, 30)))))
    return cases


def ask(base_url: str, version: str, query: str) -> Answer:
    """GET /allocation_candidates with `query` sent as written."""
    url = httpx.URL(f"{base_url}/allocation_candidates", query=query.encode("ascii"))
    response = httpx.get(url, headers={"x-auth-token": ADMIN_TOKEN,
                                       "openstack-api-version": f"placement {version}"},
                         timeout=60.0)
    return Answer(response.status_code, dict(response.headers), response.text)


# Upstream checks the aggregates of one `member_of` as a set, so which of several that
# are no uuids it names changes with each process's string hashing.
ONE_OF_THEM = re.compile(r"(contain valid UUID\(s\)\. Got: )\S+")


def compared(answer: Answer, base_url: str):
    """The status and body as compared: the request id, the quoted schema and which
    malformed aggregate is named set aside."""
    normalised = normalise(answer, base_url, {})
    return normalised.status, json.loads(ONE_OF_THEM.sub(r"\1<aggregate>",
                                                         json.dumps(normalised.body)))


def case_id(case: tuple[str, str]) -> str:
    """A case's id: its microversion and query, with each colon escaped as in a URL,
    because gabbi's pytest plugin takes any test whose id has a colon for one of its own
    (and then fails the whole collection)."""
    version, query = case
    return f"{version} {query.replace(':', '%3A')}"


@pytest.mark.parametrize("version, query", MALFORMED, ids=[case_id(case) for case in MALFORMED])
def test_a_malformed_query_gets_upstream_s_answer(servers: Servers, version: str, query: str):
    upstream = ask(servers.upstream, version, query)
    reference = ask(servers.reference, version, query)
    assert reference.status != 500, reference.text
    if (version, query) in UPSTREAM_FAILS:
        assert upstream.status == 500
        assert reference.status == 400
        assert "Invalid query string parameters: 'abc' does not match" in reference.text
        return
    assert compared(reference, servers.reference) == compared(upstream, servers.upstream)


GARBAGE = garbage(seed=20261206)


@pytest.mark.parametrize("version, query", GARBAGE, ids=[case_id(case) for case in GARBAGE])
def test_garbage_gets_upstream_s_answer_and_never_a_500(servers: Servers, version: str,
                                                        query: str):
    upstream = ask(servers.upstream, version, query)
    reference = ask(servers.reference, version, query)
    assert reference.status != 500, reference.text
    assert compared(reference, servers.reference) == compared(upstream, servers.upstream)
