"""Every hostile input of tests/cli/hostile.py ends as it must: exit 0 with the right answer, or
exit 1 with one error line that says what was wrong; never a traceback, never a partial file.
The same cases make the table of docs/reference/errors.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.hostile import CASES, Case, command, make_files
from tests.conftest import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def files(saved_elsewhere) -> dict[str, str]:
    return make_files(saved_elsewhere["hostile"], saved=True)


@pytest.mark.parametrize("case", CASES, ids=[case.what for case in CASES])
def test_hostile_input(case: Case, files: dict[str, str]) -> None:
    result = run_cli(*command(case, files))
    if case.exit_code == 0:
        assert result.exit_code == 0, result.stderr
        assert re.search(case.pattern, result.stdout), result.stdout[-1000:]
    else:
        assert_one_line_error(result, case.exit_code, case.pattern)
    assert not list(Path(files["folder"]).glob("**/*.json")), "a file was half-written"
