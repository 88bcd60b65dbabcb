"""The ``distllg`` command: every verb listed and reachable, argument parsing in one
package, ``python -m distllg.run`` kept as an alias of ``distllg run``."""

import pathlib
import subprocess
import sys

import pytest

from distllg import cli

PACKAGE = pathlib.Path(cli.__file__).parent.parent


def _distllg(*args, module="distllg"):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                          text=True, timeout=120)


def test_help_lists_every_verb_with_its_line():
    done = _distllg("--help")
    assert done.returncode == 0, done.stderr
    for verb, (_, line) in cli.COMMANDS.items():
        assert f"{verb}  " in done.stdout and line in done.stdout


@pytest.mark.parametrize("verb", list(cli.COMMANDS))
def test_every_verb_has_help(verb):
    text = cli.parser_for(verb).format_help()
    assert text.startswith(f"usage: distllg {verb}") and len(text) > 200


def test_unknown_verb_is_refused_with_the_list():
    done = _distllg("rnu", "x.toml")
    assert done.returncode == 2 and "invalid choice: 'rnu'" in done.stderr


def test_run_alias_is_distllg_run(tmp_path):
    """``python -m distllg.run`` parses like ``distllg run`` and reports the same error."""
    missing = tmp_path / "missing.toml"
    alias, verb = _distllg(str(missing), module="distllg.run"), _distllg("run", str(missing))
    assert alias.returncode == verb.returncode == 2
    assert alias.stderr == verb.stderr and "missing.toml does not exist" in verb.stderr


def test_only_the_cli_package_parses_arguments():
    """No ``argparse`` and no ``sys.argv`` outside distllg/cli (io/isolated.py's child
    program reads its own command line, which its parent writes)."""
    parsing = [path.relative_to(PACKAGE) for path in PACKAGE.rglob("*.py")
               if "cli" not in path.parts and ("import argparse" in path.read_text()
                                               or "sys.argv" in path.read_text())]
    assert parsing == [pathlib.Path("io/isolated.py")]
