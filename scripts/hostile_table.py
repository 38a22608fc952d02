"""Run every hostile input of tests/cli/hostile.py and print what it gets, as a Markdown table
(the table of docs/reference/errors.md; ``python scripts/gen_docs.py --results`` runs this).

Run: python scripts/hostile_table.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.cli.hostile import CASES, command, make_files
from tests.conftest import run_cli


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="convcost-hostile-") as folder:
        files = make_files(Path(folder))
        print("| input | command | exit | what convcost says |")
        print("| --- | --- | ---: | --- |")
        for case in CASES:
            args = command(case, files)
            result = run_cli(*args)
            said = result.stderr.strip() if result.exit_code else result.stdout.strip()
            line = said.splitlines()[-1] if said else ""
            shown = " ".join(args).replace(folder + "/", "")
            print(f"| {case.what} | `convcost {_cell(shown)}` | {result.exit_code} | "
                  f"{_cell(line.replace(folder + '/', ''))} |")
        print(f"\n{len(CASES)} inputs; each is also a test (tests/cli/test_hostile.py).")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    main()
