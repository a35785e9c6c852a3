"""The HTML reports (`--html FILE`) of `run`, `fuzz` and `drift`, opened in a real browser.

The commands run against a broken reference server (served from this process, so that a
breakage from tests/breakages.py reaches it): it merges allocations on PUT for the run,
and answers errors in another shape than Placement's too for the fuzzer, so each report
has real failures to show.
Each page is then opened in headless Chromium (through selenium and Debian's
chromedriver) and checked by what a person would see: the matrix's cells, their
colours, a failure's details once opened, and that nothing is fetched from a network.
"""

from __future__ import annotations

import json
import shutil
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import yaml

import placement_spec
from conformance.cli import main
from conformance.exits import EXIT_FAILED, EXIT_USAGE
from conformance.html_report import COMPATIBLE, FAILED, KIND_OF_OUTCOME, KINDS, KNOWN, PASSED
from conformance.report import Outcome
from tests.breakages import errors_in_another_shape, merge_on_put
from tests.dependencies import unavailable
from tests.server_thread import serving_in_thread
from tests.test_drift import COMPATIBLE_CHANGES, SPEC_CHANGES

# replace-on-put fails on a server that merges; the deviations file excuses one of its
# tests, so that the report has a known deviation too.
RUN_FEATURES = "replace-on-put,capacity"
EXCUSED = ("replace-on-put", "with the list body, after PUT F the consumer holds exactly F")
EXCUSE = "this deployment merges allocations on PUT"
WINDOW = (1400, 1000)


@dataclass(frozen=True)
class Reports:
    folder: Path
    url: str

    def path(self, name: str) -> Path:
        return self.folder / name


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reports]:
    """Run, fuzz and drift against a broken server, each writing its HTML report."""
    folder = tmp_path_factory.mktemp("html-reports")
    deviations = folder / "deviations.yaml"
    deviations.write_text(yaml.safe_dump([{"feature": EXCUSED[0], "test": EXCUSED[1],
                                           "reason": EXCUSE}]))
    with pytest.MonkeyPatch.context() as monkeypatch:
        merge_on_put(monkeypatch)
        with serving_in_thread(folder / "placement.db") as url:
            assert main(["run", "--url", url, "--token", "admin", "--only", RUN_FEATURES,
                         "--known-deviations", str(deviations),
                         "--html", str(folder / "run.html"),
                         "--json", str(folder / "run.json")]) == EXIT_FAILED
            # Any generated request that gets an error breaks a check now.
            errors_in_another_shape(monkeypatch)
            assert main(["fuzz", "--url", url, "--token", "admin", "--microversions", "1.28",
                         "--max-examples", "2", "--seed", "7",
                         "--html", str(folder / "fuzz.html")]) == EXIT_FAILED
    yield Reports(folder, url)


@pytest.fixture(scope="module")
def drift_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`drift spec` from the spec to one with a breaking change, an allow-listed one and
    a compatible one."""
    folder = tmp_path_factory.mktemp("html-drift")
    spec = placement_spec.load()
    for change, _ in (SPEC_CHANGES["an operation removed"],
                      SPEC_CHANGES["a status code removed"],
                      COMPATIBLE_CHANGES["a new optional field"]):
        change(spec)
    changed = folder / "changed.yaml"
    changed.write_text(yaml.safe_dump(spec, sort_keys=False))
    operation, kind, subject = SPEC_CHANGES["a status code removed"][1]
    allow = folder / "allow.yaml"
    allow.write_text(yaml.safe_dump({"spec": [{"operation": operation, "kind": kind,
                                               "subject": subject,
                                               "reason": "Placement never sends it"}]}))
    path = folder / "drift.html"
    assert main(["drift", "spec", str(placement_spec.SPEC_PATH), str(changed),
                 "--allow", str(allow), "--html", str(path)]) == EXIT_FAILED
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium, driven through Debian's chromedriver (nothing downloaded)."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        unavailable("browser", "chromium or chromedriver is not on PATH")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=chromedriver))
    try:
        yield driver
    finally:
        driver.quit()


def opened(browser, path: Path):
    browser.get(path.as_uri())
    return browser


def css(browser, selector: str) -> list:
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, selector)


def rgb(colour: str) -> str:
    """"#e5534b" as the browser reports a computed colour."""
    red, green, blue = (int(colour[index:index + 2], 16) for index in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, 1)"


def cells(browser) -> dict[tuple[str, str], object]:
    """The matrix's filled cells by (row, column)."""
    return {(cell.get_attribute("data-row"), cell.get_attribute("data-column")): cell
            for cell in css(browser, "#matrix td.cell")}


def expected_kinds(document: dict) -> dict[tuple[str, str], str]:
    """The worst kind of each feature and microversion of a JSON report."""
    found: dict[tuple[str, str], set] = {}
    for result in document["results"]:
        column = result["microversion"] if result["microversion"] in {
            str(v) for v in placement_spec.supported()} else "other"
        found.setdefault((result["feature"], column), set()).add(
            KIND_OF_OUTCOME[Outcome(result["outcome"])])
    return {place: next(kind.key for kind in KINDS if kind in kinds)
            for place, kinds in found.items()}


def test_every_outcome_of_a_run_has_a_kind_in_the_report() -> None:
    assert set(KIND_OF_OUTCOME) == set(Outcome)
    assert len({kind.key for kind in KINDS}) == len(KINDS)


def test_the_run_report_shows_the_matrix_coloured_by_outcome(browser, reports) -> None:
    page = opened(browser, reports.path("run.html"))
    document = json.loads(reports.path("run.json").read_text())
    shown = cells(page)
    assert {place: cell.get_attribute("data-kind") for place, cell in shown.items()} \
        == expected_kinds(document)
    # What the cells say adds up to the run's failures, and each kind has its colour.
    marks = Counter()
    for cell in shown.values():
        kind = next(kind for kind in KINDS if kind.key == cell.get_attribute("data-kind"))
        assert cell.value_of_css_property("background-color") == rgb(kind.colour)
        if kind.counted:
            marks[kind] += int(cell.text.removeprefix(kind.mark))
        else:
            assert cell.text == kind.mark
    assert marks[FAILED] == document["counts"]["failed"] > 0
    assert marks[KNOWN] == document["counts"]["known deviation"] == 1
    assert PASSED.key in {cell.get_attribute("data-kind") for cell in shown.values()}
    assert "FAILED" in page.find_element("css selector", "h1").text


def test_a_failure_opens_to_its_rule_request_response_and_curl(browser, reports) -> None:
    page = opened(browser, reports.path("run.html"))
    failure = css(page, "section#failed details")[0]
    curl = failure.find_element("css selector", "pre.curl")
    assert not curl.is_displayed()  # closed until asked for
    failure.find_element("css selector", "summary").click()
    assert curl.is_displayed()
    assert failure.find_element("css selector", "summary").text.startswith("replace-on-put [")
    assert "AssertionError" in failure.find_element("css selector", "pre.message").text
    request = failure.find_element("css selector", "pre.request").text
    assert request.startswith(f"GET {reports.url}/allocations/")
    assert "x-auth-token: $PLACEMENT_TOKEN" in request  # the token is not written down
    assert failure.find_element("css selector", "pre.response").text.startswith("200")
    assert curl.text.startswith("curl ") and reports.url in curl.text
    assert '"x-auth-token: $PLACEMENT_TOKEN"' in curl.text and "admin" not in curl.text


def test_a_cell_links_to_its_failure_and_opens_it(browser, reports) -> None:
    page = opened(browser, reports.path("run.html"))
    failed = next(cell for cell in cells(page).values()
                  if cell.get_attribute("data-kind") == FAILED.key)
    link = failed.find_element("css selector", "a")
    target = page.find_element("id", link.get_attribute("href").split("#")[1])
    assert target.get_attribute("open") is None
    link.click()
    assert target.get_attribute("open") == "true"
    assert target.find_element("css selector", "pre.curl").is_displayed()
    summary = target.find_element("css selector", "summary").text
    assert summary.startswith(f"{failed.get_attribute('data-row')} "
                              f"[{failed.get_attribute('data-column')}]")


def test_a_known_deviation_shows_its_reason(browser, reports) -> None:
    page = opened(browser, reports.path("run.html"))
    [known] = css(page, "section#known details")
    known.find_element("css selector", "summary").click()
    assert EXCUSED[1] in known.find_element("css selector", "summary").text
    assert known.find_element("css selector", ".reason").text == f"Known: {EXCUSE}"


def test_the_parameters_say_what_ran_against_what(browser, reports) -> None:
    page = opened(browser, reports.path("run.html"))
    parameters = {row.find_element("css selector", "th").text:
                  row.find_element("css selector", "td").text
                  for row in css(page, "#parameters tr")}
    assert parameters["URL"] == reports.url
    assert parameters["microversions checked"] == "1.0-1.39"
    assert parameters["placement-contract"] and parameters["gabbi"]


def test_the_fuzz_report_shows_the_broken_check_with_its_curl_commands(browser,
                                                                        reports) -> None:
    page = opened(browser, reports.path("fuzz.html"))
    shown = cells(page)
    assert {column for _, column in shown} == {"1.28"}
    failures = css(page, "section#failed details")
    summaries = [detail.find_element("css selector", "summary").get_attribute("textContent")
                 for detail in failures]
    assert any("placement_error_shape" in summary for summary in summaries), summaries
    # An operation's cell is red exactly when a failure names it.
    failing = {summary.split(" [1.28]")[0] for summary in summaries}
    assert failing == {row for (row, _), cell in shown.items()
                       if cell.get_attribute("data-kind") == FAILED.key}
    assert len(shown) == len(placement_spec.operations(placement_spec.project("1.28")))
    failure = failures[0]
    failure.find_element("css selector", "summary").click()
    assert failure.find_element("css selector", "pre.curl").text.startswith("curl ")
    assert failure.find_element("css selector", "pre.response").is_displayed()
    parameters = page.find_element("id", "parameters").text
    assert "seed 7" in parameters and "examples per operation 2" in parameters


def test_the_drift_report_colours_breaking_allowed_and_compatible_changes(
        browser, drift_report) -> None:
    page = opened(browser, drift_report)
    kinds = {place[0]: cell.get_attribute("data-kind") for place, cell in cells(page).items()}
    assert kinds["DELETE /allocations/{consumer_uuid}"] == FAILED.key
    assert kinds["DELETE /resource_providers/{uuid}"] == KNOWN.key
    assert kinds["PUT /resource_providers/{uuid}"] == COMPATIBLE.key
    [allowed] = css(page, "section#known details")
    assert "Placement never sends it" in allowed.get_attribute("textContent")


def test_the_page_needs_no_network(browser, reports, tmp_path) -> None:
    """Everything the page shows is in the file: the browser fetches nothing else, and
    what it draws is the page (a screenshot of the whole window and of the matrix)."""
    page = opened(browser, reports.path("run.html"))
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0
    screenshot = tmp_path / "run.png"
    assert page.save_screenshot(str(screenshot))
    assert png_size(screenshot.read_bytes())[0] == WINDOW[0]
    matrix = page.find_element("id", "matrix")
    assert png_size(matrix.screenshot_as_png) == (matrix.rect["width"], matrix.rect["height"])


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">II", png[16:24])


def test_a_report_that_cannot_be_written_is_a_usage_error(tmp_path, capsys) -> None:
    spec = str(placement_spec.SPEC_PATH)
    assert main(["drift", "spec", spec, spec, "--html", str(tmp_path / "no" / "r.html")]) \
        == EXIT_USAGE
    assert "cannot write" in capsys.readouterr().err
