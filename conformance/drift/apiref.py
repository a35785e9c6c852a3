"""Read an api-ref source tree the way os-api-ref renders it, into a surface and samples.

An api-ref is a folder of reStructuredText `.inc` files, a `parameters.yaml` and a
`samples/` folder. In each `.inc` file a section titled with a `===` underline that holds
a `.. rest_method:: METHOD /path` directive is one operation. Its text says which
microversions it covers (in its title, "(microversions 1.2 - 1.6)", or in a sentence,
"available starting from version 1.7", also at the top of the file), which status codes
it answers ("Normal Response Codes: 201 (microversions 1.0 - 1.19), 200 ..."), and its
`---` subsections ("Request", "Response (microversions 1.20 - )", "Request example
(microversions 1.28 - 1.36)") list parameters (`.. rest_parameters:: parameters.yaml`,
then `- name: key` lines) and samples (`.. literalinclude:: ./samples/...json`).

Only that text is read; what the prose says besides is left to people.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from placement_spec import Microversion, Range

from conformance.drift.surface import Field, OperationView, Surface, operation_name
from conformance.drift.versions import EVERY, available_from, bracketed_range

PARAMETERS_FILE = "parameters.yaml"
_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+])\1+$")
_REST_METHOD = re.compile(r"^\.\.\s+rest_method::\s+(\w+)\s+(\S+)", re.MULTILINE)
_REST_PARAMETERS = re.compile(r"^\.\.\s+rest_parameters::")
_PARAMETER_LINE = re.compile(r"^\s+-\s+(\S+?):\s*(\S+)\s*$")
_LITERALINCLUDE = re.compile(r"^\.\.\s+literalinclude::\s+(\S+)", re.MULTILINE)
_NORMAL_CODES = re.compile(r"^normal\s+response\s+codes:(.*)", re.IGNORECASE | re.DOTALL)
_ERROR_CODES = re.compile(r"^error\s+response\s+codes:(.*)", re.IGNORECASE | re.DOTALL)
_NORMAL_CODE = re.compile(r"(\d{3})(\s*\([^)]*\))?")
_ERROR_CODE = re.compile(r"\((\d{3})\)")
# parameters.yaml's types are JSON's, but for "float".
_JSON_TYPES = {"float": "number"}


class ApiRefError(ValueError):
    """The api-ref source cannot be read (a missing file, an unknown parameter key)."""


@dataclass(frozen=True)
class Parameter:
    """One line of a `rest_parameters` list, with its entry from parameters.yaml."""

    name: str
    location: str
    required: bool
    type: str
    versions: Range

    def field(self) -> Field:
        kind = _JSON_TYPES.get(self.type, self.type)
        return Field(required=self.required, types=frozenset({kind}) if kind else None)


@dataclass(frozen=True)
class NotJson:
    """A sample file that does not parse as JSON, and why."""

    error: str


@dataclass(frozen=True)
class Sample:
    """A JSON sample shown for an operation, with the microversions its text gives it."""

    operation: str
    file: str
    role: str  # "request" or "response"
    versions: Range
    body: Any  # the parsed JSON, or NotJson


@dataclass
class Section:
    """One operation as one section of an `.inc` file documents it."""

    operation: str
    versions: Range
    statuses: dict[str, Range] = field(default_factory=dict)
    request: list[Parameter] = field(default_factory=list)
    response: list[Parameter] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)

    def view(self, version: Microversion) -> OperationView:
        view = OperationView(statuses={code for code, covered in self.statuses.items()
                                       if covered.covers(version)})
        for role, parameters in (("request", self.request), ("response", self.response)):
            for parameter in parameters:
                if parameter.versions.covers(version):
                    _place(view, role, parameter)
        return view


@dataclass
class ApiRef:
    """Every operation section of an api-ref source tree."""

    sections: list[Section]

    def surface(self, versions: list[Microversion]) -> Surface:
        found: Surface = {}
        for section in self.sections:
            for version in versions:
                if section.versions.covers(version):
                    view = found.setdefault(section.operation, {}).setdefault(
                        version, OperationView())
                    view.merge(section.view(version))
        return found

    @property
    def samples(self) -> list[Sample]:
        return [sample for section in self.sections for sample in section.samples]


def read_api_ref(directory: Path) -> ApiRef:
    """Every operation section of every `.inc` file in `directory`."""
    catalogue = _parameters(directory / PARAMETERS_FILE)
    sections: list[Section] = []
    for inc in sorted(directory.glob("*.inc")):
        sections += _InclusionFile(inc, directory, catalogue).sections()
    if not sections:
        raise ApiRefError(f"{directory} holds no .inc file with a rest_method")
    return ApiRef(sections)


def _place(view: OperationView, role: str, parameter: Parameter) -> None:
    """Put a parameter where a spec would have it: a body field, a header or a parameter."""
    if parameter.location == "body":
        body = view.request_body if role == "request" else view.response_body
        body[parameter.name] = parameter.field()
    elif parameter.location == "header" and role == "response":
        view.response_headers[parameter.name] = parameter.field()
    else:
        view.parameters[(parameter.location, parameter.name)] = parameter.field()


class _VersionsAsText(yaml.SafeLoader):
    """Reads `min_version: 1.20` as the text it is: as a float it would be 1.2."""


_VersionsAsText.add_constructor("tag:yaml.org,2002:float",
                                lambda loader, node: loader.construct_scalar(node))


def _parameters(path: Path) -> dict[str, dict]:
    try:
        with path.open(encoding="utf-8") as stream:
            catalogue = yaml.load(stream, Loader=_VersionsAsText)
    except (OSError, yaml.YAMLError) as error:
        raise ApiRefError(f"cannot read {path}: {error}") from error
    if not isinstance(catalogue, dict):
        raise ApiRefError(f"{path} is not a mapping of parameters")
    return catalogue


@dataclass(frozen=True)
class _Heading:
    line: int  # index of the title line
    level: int  # 0: over- and underlined (the page), 1: "=" underline, 2: any other
    title: str


class _InclusionFile:
    """One `.inc` file, cut into its operation sections."""

    def __init__(self, path: Path, directory: Path, catalogue: dict[str, dict]):
        self.path = path
        self.directory = directory
        self.catalogue = catalogue
        self.lines = path.read_text(encoding="utf-8").splitlines()
        self.headings = _headings(self.lines)

    def sections(self) -> list[Section]:
        first = next((h.line for h in self.headings if h.level == 1), len(self.lines))
        page = available_from(_text(self.lines[:first]))
        found = []
        for position, heading in enumerate(self.headings):
            if heading.level == 1:
                section = self._section(position, page)
                if section:
                    found.append(section)
        return found

    def _section(self, position: int, page: Range) -> Section | None:
        heading = self.headings[position]
        later = self.headings[position + 1:]
        end = next((h.line for h in later if h.level <= 1), len(self.lines))
        children = [h for h in later if h.line < end]
        intro = _text(self.lines[heading.line + 2: children[0].line if children else end])
        method = _REST_METHOD.search(intro)
        if not method:
            return None
        section = Section(
            operation=operation_name(method.group(1), method.group(2)),
            versions=page.intersect(bracketed_range(heading.title)).intersect(
                available_from(intro)),
        )
        section.statuses = _statuses(intro, section.versions)
        for index, child in enumerate(children):
            stop = children[index + 1].line if index + 1 < len(children) else end
            self._subsection(section, child, self.lines[child.line + 2: stop])
        return section

    def _subsection(self, section: Section, heading: _Heading, lines: list[str]) -> None:
        role = heading.title.split()[0].lower()  # "Request example (...)" -> "request"
        if role not in ("request", "response"):
            return
        versions = section.versions.intersect(bracketed_range(heading.title))
        parameters = section.request if role == "request" else section.response
        parameters += self._parameters(lines, versions)
        for target in _LITERALINCLUDE.findall(_text(lines)):
            section.samples.append(Sample(section.operation, self._relative(target), role,
                                          versions, self._sample(target)))

    def _parameters(self, lines: list[str], versions: Range) -> list[Parameter]:
        found = []
        for name, key in _parameter_lines(lines):
            entry = self.catalogue.get(key)
            if not isinstance(entry, dict):
                raise ApiRefError(f"{self.path.name}: parameter {key!r} is not in "
                                  f"{PARAMETERS_FILE}")
            try:
                own = Range.of(entry.get("min_version"), entry.get("max_version"))
            except ValueError as error:
                raise ApiRefError(f"{PARAMETERS_FILE}: {key}: {error}") from error
            found.append(Parameter(
                name=name,
                location=str(entry.get("in", "")),
                required=bool(entry.get("required", False)),
                type=str(entry.get("type", "")),
                versions=versions.intersect(own),
            ))
        return found

    def _relative(self, target: str) -> str:
        return (self.path.parent / target).resolve().relative_to(
            self.directory.resolve()).as_posix()

    def _sample(self, target: str) -> Any:
        """The sample's JSON, or NotJson (reported as a finding, not an error)."""
        path = self.path.parent / target
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ApiRefError(f"{self.path.name}: cannot read {target}: {error}") from error
        try:
            return json.loads(text)
        except ValueError as error:
            return NotJson(str(error))


def _headings(lines: list[str]) -> list[_Heading]:
    found = []
    for index in range(len(lines) - 1):
        title, under = lines[index].rstrip(), lines[index + 1].rstrip()
        if (not title or title[0].isspace() or _ADORNMENT.match(title)
                or not _ADORNMENT.match(under) or len(under) < len(title)):
            continue
        overlined = index > 0 and lines[index - 1].rstrip() == under
        level = 0 if overlined else 1 if under[0] == "=" else 2
        found.append(_Heading(index, level, title.strip()))
    return found


def _parameter_lines(lines: list[str]) -> list[tuple[str, str]]:
    """The `- name: key` pairs of every `rest_parameters` list in `lines`."""
    pairs, listing = [], False
    for line in lines:
        if _REST_PARAMETERS.match(line):
            listing = True
        elif listing and (entry := _PARAMETER_LINE.match(line)):
            pairs.append(entry.groups())
        elif line.strip():  # other text ends a list; blank lines do not
            listing = False
    return pairs


def _statuses(intro: str, versions: Range) -> dict[str, Range]:
    """Status codes of the response-code paragraphs, each with its microversions."""
    found: dict[str, Range] = {}
    for paragraph in re.split(r"\n\s*\n", intro):
        paragraph = " ".join(paragraph.split())
        if normal := _NORMAL_CODES.match(paragraph):
            for code, bracket in _NORMAL_CODE.findall(normal.group(1)):
                found[code] = versions.intersect(bracketed_range(bracket) if bracket else EVERY)
        elif errors := _ERROR_CODES.match(paragraph):
            for code in _ERROR_CODE.findall(errors.group(1)):
                found[code] = versions
    return found


def _text(lines: list[str]) -> str:
    return "\n".join(lines)
