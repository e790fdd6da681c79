"""`--use-conda`: the environment files pin what pyproject pins, hold every package the rules'
scripts import, the scripts find this checkout's mgat inside an environment that lacks it, and
the submitting host needs only the README's pip command.

Conda cannot reach its channels from these machines, so the last point runs the way a conda job
does without conda: Snakemake itself, run by a Python that has the environment's packages but no
installed mgat and no PYTHONPATH, executes the rules' scripts with that Python.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, workflow_copy

SCRIPTS = REPO / "workflow" / "scripts"
SRC = REPO / "src"
BOOTSTRAP = 'sys.path.insert(0, f"{snakemake.scriptdir}/../../src")'


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = {}
    for requirement in project["dependencies"]:
        name, version = requirement.split("==")
        pins[normalise(name)] = version
    return pins


def env_pins(path: Path) -> dict[str, str]:
    spec = yaml.safe_load(path.read_text())
    pip = next(dep["pip"] for dep in spec["dependencies"] if isinstance(dep, dict))
    return {normalise(line.split("==")[0]): line.split("==")[1] for line in pip}


def rule_envs() -> dict[str, str]:
    """script file name -> the conda environment file of the rule(s) that run it."""
    pairs: dict[str, str] = {}
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for block in re.split(r"\n\s*(?:rule|use rule) ", smk.read_text())[1:]:
            script = re.search(r'script:\s*"\.\./scripts/([^"]+)"', block)
            conda = re.search(r'conda:\s*"\.\./\.\./(envs/[^"]+)"', block)
            if script:
                assert conda, f"a rule in {smk.name} runs {script.group(1)} without conda:"
                pairs[script.group(1)] = conda.group(1)
    return pairs


def imported_distributions(script: Path) -> set[str]:
    """Distributions a script needs: its imports and, through every mgat module it reaches (at
    any depth, function-level imports included), theirs."""
    by_module = importlib.metadata.packages_distributions()
    found: set[str] = set()
    todo, seen = [script], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "mgat":
                    todo.extend(mgat_files(name))
                elif top not in sys.stdlib_module_names and top != "__future__":
                    found.update(normalise(d) for d in by_module[top])
    return found


def mgat_files(module: str) -> list[Path]:
    """The source files that importing ``module`` runs: each package's __init__ on the way."""
    parts = module.split(".")
    files = []
    for depth in range(1, len(parts) + 1):
        base = SRC.joinpath(*parts[:depth])
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                files.append(candidate)
    return files


def test_environment_pins_equal_pyproject() -> None:
    pins = pyproject_pins()
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        for name, version in env_pins(env).items():
            assert pins.get(name) == version, f"{env.name}: {name}=={version}, pyproject {pins}"


def test_every_script_rule_has_an_environment_with_what_it_imports() -> None:
    pairs = rule_envs()
    assert set(pairs) == {p.name for p in SCRIPTS.glob("*.py")}
    for script, env in pairs.items():
        needed = imported_distributions(SCRIPTS / script)
        missing = needed - set(env_pins(REPO / env))
        assert not missing, f"{script} needs {sorted(missing)}, absent from {env}"


def test_import_closure_reaches_through_mgat() -> None:
    """The closure finds what training needs only through mgat's modules (and lazy imports)."""
    needed = imported_distributions(SCRIPTS / "train_stage.py")
    assert {"torch", "torchvision", "numpy", "pillow", "pandas", "tqdm"} <= needed, needed


def test_every_script_puts_this_checkout_first() -> None:
    for script in SCRIPTS.glob("*.py"):
        lines = script.read_text().splitlines()
        first_mgat = next(i for i, line in enumerate(lines) if line.startswith("from mgat"))
        assert BOOTSTRAP in "\n".join(lines[:first_mgat]), script.name


def python_without_mgat(folder: Path) -> Path:
    """A fresh Python with this environment's site-packages (torch, snakemake, ...) but not
    mgat: the editable install's .pth file inside them is not processed when that folder is
    reached through another .pth line, exactly as a conda env has the packages and not mgat."""
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    target = subprocess.run(
        [python, "-c", "import site; print(site.getsitepackages()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(target, "host-packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


@pytest.mark.workflow
@pytest.mark.parametrize("bootstrap", [True, False], ids=["scripts", "without-bootstrap"])
def test_scripts_import_this_checkout_in_an_environment_without_mgat(
    tmp_path: Path, bootstrap: bool
) -> None:
    python = python_without_mgat(tmp_path / "env")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = subprocess.run([python, "-c", "import mgat"], capture_output=True, text=True, env=env)
    assert "No module named 'mgat'" in probe.stderr  # the environment really lacks mgat
    assert subprocess.run([python, "-c", "import torch, snakemake"], env=env).returncode == 0

    workflow = workflow_copy(tmp_path / "workflow")
    if not bootstrap:
        for script in (workflow / "workflow" / "scripts").glob("*.py"):
            script.write_text(script.read_text().replace(BOOTSTRAP, "pass"))
    config = tmp_path / "tiny.yaml"
    config.write_text("results: out\ndatasets: [market1501]\ndata: {source: synthetic}\n")
    result = subprocess.run(
        [
            python,
            "-m",
            "snakemake",
            "--snakefile",
            str(workflow / "Snakefile"),
            "--cores",
            "1",
            "out/splits/market1501.json",
            "--configfile",
            str(config),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    splits = tmp_path / "out" / "splits" / "market1501.json"
    if bootstrap:
        assert result.returncode == 0, result.stderr[-3000:]
        assert splits.is_file()
    else:  # the control: without the bootstrap, the same scripts cannot find mgat
        assert result.returncode != 0 and not splits.exists()
        assert "No module named 'mgat'" in result.stderr


@pytest.mark.workflow
def test_the_readme_host_without_torch_or_mgat_builds_the_paper_dag(tmp_path: Path) -> None:
    """The host of ``--use-conda`` (a login node) needs only what the README's pip command
    installs: a fresh virtual environment with exactly that builds the paper's DAG, reading the
    dataset registry from the checkout without torch, numpy or an installed mgat."""
    command = re.search(r"\(`pip install (snakemake==[^`]+)`", (REPO / "README.md").read_text())
    assert command, "the README no longer names the host's pip command"
    venv = tmp_path / "host"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", *command.group(1).split()],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    python = str(venv / "bin" / "python")
    for absent in ("torch", "mgat"):
        probe = subprocess.run([python, "-c", f"import {absent}"], capture_output=True)
        assert probe.returncode != 0, f"{absent} is installed in the host environment"
    plan = subprocess.run(
        [str(venv / "bin" / "snakemake"), "-n", "all_tables", "--config", f"results={tmp_path}/r"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert plan.returncode == 0, (plan.stdout + plan.stderr)[-3000:]
    for rule in ("fetch_weights", "train_baseline", "extract_features", "render_table"):
        assert rule in plan.stdout, plan.stdout[-2000:]
