"""Shared test plumbing: a `report` fixture whose lines are printed at the end of the run (fault-injection
counts, fuzzing statistics), so they appear in CI's output even though pytest captures test output.

The lines travel as the test's ``user_properties``: pytest-xdist sends those from its workers to the
controller with each test report, so `make test` (which runs the tests in parallel) prints them too."""

import pytest

_KEY = "tinybnn-report"
_REPORTS: list[str] = []


@pytest.fixture
def report(request):
    def add(line: str) -> None:
        request.node.user_properties.append((_KEY, f"{request.node.name}: {line}"))
    return add


def pytest_runtest_logreport(report):
    if report.when == "teardown":  # every property once, whatever the outcome of setup and call
        _REPORTS.extend(v for k, v in report.user_properties if k == _KEY)


def pytest_terminal_summary(terminalreporter):
    if _REPORTS:
        terminalreporter.section("tinybnn reports")
        for line in _REPORTS:
            terminalreporter.write_line(line)
