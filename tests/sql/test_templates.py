"""Mode Liquid templates: forms, definitions, rendering, branch variants, fallback."""

from __future__ import annotations

from lineage_utils.sql.branches import branch_variants
from lineage_utils.sql.templates import (
    expand_definitions,
    parse_form,
    render_template,
    render_variant_neutral,
    split_form,
    strip_template,
)

FORM = """
{% form %}
grain:
  type: select
  default: day
  options: [day, week]
regions:
  input_type: multiselect
  default: [eu, us]
{% endform %}
"""


def test_plain_sql_is_untouched():
    rendering = render_template("SELECT * FROM a")
    assert (rendering.sql, rendering.template_path, rendering.variants) == ("SELECT * FROM a", "plain", ())


def test_split_form_removes_the_block_and_returns_its_yaml():
    sql, form = split_form("SELECT 1" + FORM)
    assert "form" not in sql and "grain:" in form


def test_parse_form_reads_defaults():
    defaults, problem = parse_form(split_form(FORM)[1])
    assert defaults == {"grain": "day", "regions": ["eu", "us"]} and problem is None


def test_parse_form_reports_bad_yaml():
    defaults, problem = parse_form("grain: [unclosed")
    assert defaults == {} and problem.startswith("form YAML unreadable")


def test_render_uses_form_defaults():
    rendering = render_template("SELECT * FROM t WHERE g = '{{ grain }}'" + FORM)
    assert "g = 'day'" in rendering.sql and rendering.template_path == "rendered"


def test_render_join_filter():
    rendering = render_template("SELECT {{ regions | join: ',' }}" + FORM)
    assert "eu,us" in rendering.sql


def test_undefined_variable_renders_empty():
    assert render_template("SELECT 1 {{ nothing }}x").sql == "SELECT 1 x"


def test_definition_becomes_aliased_subquery():
    sql, missing, _ = expand_definitions("FROM {{ @d as x }}", {"d": "SELECT 1;"})
    assert sql == "FROM (\nSELECT 1\n) AS x" and missing == ()


def test_definition_alias_defaults_to_name():
    sql, _, _ = expand_definitions("FROM {{ @d }}", {"d": "SELECT 1"})
    assert sql.endswith(") AS d")


def test_definition_escape_sequences_become_whitespace():
    sql, _, _ = expand_definitions("{{ @d }}", {"d": "SELECT 1\\nFROM t\\tx"})
    assert "SELECT 1\nFROM t\tx" in sql


def test_nested_definitions_expand():
    sql, _, _ = expand_definitions("{{ @a }}", {"a": "SELECT * FROM {{ @b }}", "b": "SELECT 2"})
    assert "SELECT 2" in sql and "@" not in sql


def test_definition_cycle_is_guarded():
    sql, _, problems = expand_definitions("{{ @a }}", {"a": "SELECT * FROM {{ @b }}", "b": "SELECT * FROM {{ @a }}"})
    assert "(SELECT 1) AS a" in sql and problems


def test_unknown_definition_is_placeholder_and_reported():
    rendering = render_template("SELECT * FROM {{ @nope as n }}")
    assert "(SELECT 1) AS n" in rendering.sql and rendering.missing_definitions == ("nope",)


def test_if_else_yields_a_variant_per_branch():
    variants = branch_variants("A{% if x %}B{% elsif y %}C{% else %}D{% endif %}E")
    assert set(variants) == {"ABE", "ACE", "ADE"}


def test_case_variants_skip_text_before_first_when():
    variants = branch_variants("{% case g %}junk{% when 1 %}one{% when 2 %}two{% endcase %}")
    assert set(variants) == {"one", "two"}


def test_nested_block_variant_opens_its_enclosing_branch():
    variants = branch_variants("{% if a %}x{% else %}{% if b %}deep{% endif %}{% endif %}")
    assert "deep" in variants


def test_raw_block_content_is_not_scanned():
    assert branch_variants("{% raw %}{% if a %}x{% endif %}{% endraw %}") == ()


def test_variants_are_capped():
    template = "".join(f"{{% if v{i} %}}t{i}{{% else %}}u{i}{{% endif %}}" for i in range(50))
    assert len(branch_variants(template, limit=7)) == 7


def test_broken_liquid_falls_back_with_reason():
    rendering = render_template("SELECT * FROM a {% if x %} JOIN b")
    assert rendering.template_path == "fallback" and "Liquid rendering failed" in rendering.reason


def test_strip_template_never_leaves_a_variable_name():
    assert strip_template("FROM {{ tbl }} {% if x %}y{% endif %}") == "FROM 1  y "


def test_strip_template_unterminated_output_swallows_its_line():
    assert strip_template("FROM {{ tbl\nJOIN b") == "FROM 1\nJOIN b"


def test_capped_variants_are_reported():
    template = "SELECT 1 " + "".join(f"{{% if v{i} %}}t{i}{{% endif %}}" for i in range(40))
    rendering = render_template(template, max_variants=5)
    assert len(rendering.variants) == 5 and "only 5 tried" in rendering.reason


def test_loop_limit_stops_runaway_templates():
    rendering = render_template("SELECT {% for i in (1..100000000) %}{{ i }}{% endfor %}")
    assert rendering.template_path == "fallback" and "limit" in rendering.reason


def test_variant_that_fails_to_render_is_rendered_with_its_branch_stripped():
    rendering = render_template("SELECT a {% if x %}, {{ 1 | divided_by: 0 }} AS b{% endif %} FROM t")
    (variant,) = rendering.variants
    assert variant.sql == "SELECT a , 1 AS b FROM t" and "its tags stripped" in variant.note
    assert "branch 1: Liquid rendering failed (FilterArgumentError" in rendering.reason


def test_variants_past_the_cap_are_listed_untried():
    template = "SELECT 1 " + "".join(f"{{% if v{i} %}}t{i}{{% endif %}}" for i in range(8))
    rendering = render_template(template, max_variants=5)
    assert [n for n, _ in rendering.untried] == [6, 7, 8] and all("cap" in why for _, why in rendering.untried)


def test_variants_past_the_deadline_are_listed_untried():
    rendering = render_template("SELECT 1 {% if a %}x{% endif %}{% if b %}y{% endif %}", deadline=0.0)
    assert rendering.variants == () and [n for n, _ in rendering.untried] == [1, 2]


def test_variants_rendering_the_same_text_keep_every_branch():
    rendering = render_template("SELECT 1 {% if a %}{{ u }}{% elsif b %}{{ v }}{% else %}z{% endif %}")
    assert [v.branches for v in rendering.variants] == [(1, 2)]  # the else branch is the default rendering


def test_variant_neutral_rendering_prints_undefined_variables_as_1():
    rendering = render_template("SELECT 1 {% if a %}WHERE x > {{ m }}{% endif %}")
    (variant,) = rendering.variants
    assert variant.sql == "SELECT 1 WHERE x > " and render_variant_neutral(variant, {}) == "SELECT 1 WHERE x > 1"
