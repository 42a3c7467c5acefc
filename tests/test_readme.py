"""The README's contract tables and commands stay true to the code."""

from __future__ import annotations

from riskmodel.core.schema import CROSSINGS, STAYS, contract_markdown

from .conftest import REPO


def test_contract_tables_match_the_schema():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert contract_markdown(CROSSINGS) in text
    assert contract_markdown(STAYS) in text


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/test" in readme
    assert "bash scripts/test" in ci


def test_cli_reference_is_generated_from_the_cli():
    from riskmodel.apps.cli import cli_reference

    assert (REPO / "docs" / "CLI.md").read_text(encoding="utf-8") == cli_reference(), (
        "docs/CLI.md is stale: run `riskmodel cli-reference > docs/CLI.md`"
    )


def test_feature_domain_table_matches_the_schema():
    from riskmodel.core.schema import domain_markdown

    assert domain_markdown() in (REPO / "README.md").read_text(encoding="utf-8")


def test_feature_rules_match_the_schema():
    from riskmodel.core.schema import invariant_markdown

    assert invariant_markdown() in (REPO / "README.md").read_text(encoding="utf-8")
