"""Shared test plumbing: a `report` fixture whose lines are printed at the end of the run (fault-injection
counts, fuzzing statistics), so they appear in CI's output even though pytest captures test output."""

import pytest

_REPORTS: list[str] = []


@pytest.fixture
def report(request):
    def add(line: str) -> None:
        _REPORTS.append(f"{request.node.name}: {line}")
    return add


def pytest_terminal_summary(terminalreporter):
    if _REPORTS:
        terminalreporter.section("tinybnn reports")
        for line in _REPORTS:
            terminalreporter.write_line(line)
