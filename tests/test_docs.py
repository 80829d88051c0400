"""The README documents every setting, and the CI entry point runs the README's test command."""

from __future__ import annotations

from tubeflow.settings import REPO_ROOT, describe


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    missing = [name for name, _ in describe() if f"`{name}`" not in readme]
    assert not missing, f"README.md does not document: {missing}"


def test_ci_runs_make_test() -> None:
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
    readme = (REPO_ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
