import json
import subprocess
import sys

import reconad


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "reconad", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_version_and_help():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"reconad {reconad.__version__}"
    out = run_cli("--help")
    assert out.returncode == 0 and "demo" in out.stdout
    assert run_cli().returncode == 2  # no command: usage, exit 2


def test_demo_end_to_end(tmp_path):
    out = run_cli("demo", "--quick", "--quiet", "--out", str(tmp_path / "demo"))
    assert out.returncode == 0, out.stderr
    assert "label-free" in out.stdout and "oracle" in out.stdout
    folder = tmp_path / "demo"
    metrics = json.loads((folder / "metrics.json").read_text())
    for result in metrics["series"].values():
        for protocol in ("notebook", "independent"):
            m = result["protocols"][protocol]
            assert 0 <= m["auprc"] <= 1 and 0 <= m["label_free_f1"] <= 1 and 0 <= m["oracle_f1"] <= 1
            assert m["oracle_f1"] >= m["label_free_f1"] - 1e-12  # an oracle bounds the label-free threshold
    for name in ("data.png", "history.png", "scores_default_independent.png",
                 "scores_notebook_preset_notebook.png"):
        assert (folder / name).stat().st_size > 10_000, name
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_bad_input_exits_2_with_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = run_cli("demo", "--quick", "--quiet", "--out", str(blocker / "sub"))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
