"""The command line answers ``--help`` and input errors without importing torch (each in a fresh interpreter)."""

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "reconad.detectors", "reconad.report", "reconad.demo", "matplotlib")

PROBE = """
import json, sys
from reconad.cli import main
codes = []
for argv in {argvs!r}:
    try:
        codes.append(main(argv))
    except SystemExit as exc:
        codes.append(exc.code)
print(json.dumps({{"codes": codes, "loaded": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def probe(*argvs, cwd=None):
    """Run ``reconad.cli.main`` on each argv in a new interpreter: (exit codes, heavy modules loaded, stderr)."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(argvs=list(argvs), heavy=HEAVY)], capture_output=True,
                          text=True, timeout=120, cwd=cwd)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["codes"], result["loaded"], done.stderr


def test_importing_the_cli_imports_nothing_heavy():
    codes, loaded, _ = probe()
    assert codes == [] and loaded == []


@pytest.mark.parametrize("command", ["fit", "score", "evaluate", "demo", "serve", "experiment", "bench"])
def test_help_does_not_import_torch(command):
    codes, loaded, _ = probe(["--help"], [command, "--help"])
    assert codes == [0, 0]
    assert "torch" not in loaded and loaded == [], loaded


def test_a_missing_file_is_bad_input_without_torch(tmp_path):
    codes, loaded, err = probe(["fit", "missing.csv", "--out", "m.reconad"], cwd=tmp_path)
    assert codes == [2] and loaded == [], loaded
    assert err.strip() == "reconad fit: error: data file missing.csv does not exist; check the path"
    assert list(tmp_path.iterdir()) == []


def test_other_input_errors_answer_without_torch(tmp_path):
    (tmp_path / "in.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "images").mkdir()
    codes, loaded, err = probe(
        ["fit", "in.csv", "--out", "m.reconad", "--rows", "ten:20"],  # a bad row range
        ["fit", "in.csv", "--out", "no/such/folder/m.reconad"],  # an unwritable output
        ["fit", "images", "--out", "m.reconad", "--stride", "4"],  # a series option on images
        ["fit", "in.csv", "--out", "m.reconad", "--normal", "1"],  # an image option on a table
        ["score", "missing.reconad", "in.csv", "--out", "s.csv"],  # a missing model file
        ["evaluate", "missing.reconad", "in.csv", "--json", "m.txt"],  # a wrong suffix
        cwd=tmp_path)
    assert codes == [2] * 6 and "torch" not in loaded, (codes, loaded, err)
    lines = err.strip().splitlines()
    assert len(lines) == 6 and all(line.startswith("reconad ") and ": error: " in line for line in lines), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images", "in.csv"]


def test_the_thresholds_named_in_the_options_are_the_registered_ones():
    from reconad.commands.options import THRESHOLD_NAMES
    from reconad.thresholds import THRESHOLDS

    assert tuple(THRESHOLD_NAMES) == tuple(THRESHOLDS)


def test_the_serve_options_default_to_the_services_own_defaults():
    from reconad import serve as service
    from reconad.cli import build_parser

    args = build_parser().parse_args(["serve", "m.reconad"])
    assert (args.max_bytes, args.max_rows, args.workers, args.upload_timeout) == (
        service.DEFAULT_MAX_BYTES, service.DEFAULT_MAX_ROWS, service.DEFAULT_WORKERS, service.UPLOAD_TIMEOUT)
