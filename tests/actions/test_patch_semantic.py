"""The deletion patch takes the semantic layer downstream of a deleted model with it (no dbt: see test_patch_applies)."""

from __future__ import annotations

from lineage_utils.actions.patch import downstream_semantic, plan_deletion, render_patch
from lineage_utils.actions.plan import plan_actions
from lineage_utils.actions.yaml_edit import edit_properties
from lineage_utils.dbt.semantic import SemanticNode
from tests.actions.test_patch import orphan

SEMANTIC = """\
version: 2

# The semantic layer. This comment and the order of entries survive.
semantic_models:
  - name: orders
    model: ref('fct_orders')
    measures:
      - name: order_total
        agg: sum

  # margins, for finance
  - name: margins
    model: ref('fct_margins')
    measures:
      - name: margin_total
        agg: sum

metrics:
  - name: revenue
    type: simple
    type_params: {measure: order_total}
  - name: margin  # finance's
    type: simple
    type_params: {measure: margin_total}
  - name: revenue_per_margin
    type: derived
    type_params:
      expr: revenue / margin
      metrics: [revenue, margin]

saved_queries:
  - name: weekly
    query_params:
      metrics: [revenue_per_margin]
  - name: weekly_margin
    query_params:
      metrics: [margin]
"""

KEPT = """\
version: 2

# The semantic layer. This comment and the order of entries survive.
semantic_models:

  # margins, for finance
  - name: margins
    model: ref('fct_margins')
    measures:
      - name: margin_total
        agg: sum

metrics:
  - name: margin  # finance's
    type: simple
    type_params: {measure: margin_total}

saved_queries:
  - name: weekly_margin
    query_params:
      metrics: [margin]
"""
"""SEMANTIC after deleting fct_orders: orders, revenue, revenue_per_margin and weekly go."""


def node(kind: str, name: str, depends_on: tuple[str, ...], path: str = "models/semantic.yml") -> SemanticNode:
    return SemanticNode(unique_id=f"{kind}.p.{name}", kind=kind, name=name, package="p", path=path,  # type: ignore[arg-type]
                        label=None, description="", metric_type="simple" if kind == "metric" else None, tags=(),
                        meta={}, fqn=("p", name), depends_on=depends_on, created_at=None)


NODES = {n.unique_id: n for n in (
    node("semantic_model", "orders", ("model.p.fct_orders",)),
    node("semantic_model", "margins", ("model.p.fct_margins",)),
    node("metric", "revenue", ("semantic_model.p.orders",)),
    node("metric", "margin", ("semantic_model.p.margins",)),
    node("metric", "revenue_per_margin", ("metric.p.margin", "metric.p.revenue")),
    node("saved_query", "weekly", ("metric.p.revenue_per_margin",)),
    node("saved_query", "weekly_margin", ("metric.p.margin",)),
)}
GONE_WITH_ORDERS = ("metric.p.revenue", "metric.p.revenue_per_margin", "saved_query.p.weekly",
                    "semantic_model.p.orders")


def project(tmp_path, **files: str):
    (tmp_path / "models").mkdir()
    for name in ("fct_orders", "fct_margins", "customer_segments"):
        (tmp_path / "models" / f"{name}.sql").write_text("select 1 as id\n")
    (tmp_path / "models" / "semantic.yml").write_text(SEMANTIC)
    for name, text in files.items():
        (tmp_path / "models" / name).write_text(text)
    return tmp_path


def test_everything_of_the_semantic_layer_downstream_of_a_model_is_found():
    found = downstream_semantic(NODES, {"model.p.fct_orders", "model.p.unread"})
    assert list(found) == ["model.p.fct_orders"]
    assert tuple(n.unique_id for n in found["model.p.fct_orders"]) == GONE_WITH_ORDERS


def test_a_semantic_model_and_the_metrics_and_saved_queries_over_it_go_with_its_model(tmp_path):
    deletion = plan_deletion(project(tmp_path), [orphan("fct_orders", "models/fct_orders.sql")], {}, {}, NODES)
    changes = {c.path: c for c in deletion.changes}
    assert set(changes) == {"models/fct_orders.sql", "models/semantic.yml"}
    assert changes["models/semantic.yml"].after == KEPT
    assert deletion.semantic == {"model.p.fct_orders": GONE_WITH_ORDERS}
    assert deletion.problems == ()


def test_a_semantic_yaml_file_left_with_only_version_is_deleted(tmp_path):
    segments = "version: 2\n\nsemantic_models:\n  - name: segments  # never measured\n    model: ref('customer_segments')\n"
    nodes = {**NODES, "semantic_model.p.segments": node("semantic_model", "segments", ("model.p.customer_segments",),
                                                        "models/segments.yml")}
    deletion = plan_deletion(project(tmp_path, **{"segments.yml": segments}),
                             [orphan("customer_segments", "models/customer_segments.sql")], {}, {}, nodes)
    changes = {c.path: c for c in deletion.changes}
    assert set(changes) == {"models/customer_segments.sql", "models/segments.yml"}
    assert changes["models/segments.yml"].after is None
    assert "deleted file mode" in render_patch([changes["models/segments.yml"]])
    assert deletion.semantic == {"model.p.customer_segments": ("semantic_model.p.segments",)}


def test_a_model_entry_and_its_semantic_model_in_one_file_are_removed_in_one_edit(tmp_path):
    both = ("version: 2\nmodels:\n  - name: customer_segments\n  - name: fct_margins\n"
            "semantic_models:\n  - name: segments\n    model: ref('customer_segments')\n")
    nodes = {"semantic_model.p.segments": node("semantic_model", "segments", ("model.p.customer_segments",),
                                               "models/both.yml")}
    deletion = plan_deletion(project(tmp_path, **{"both.yml": both}),
                             [orphan("customer_segments", "models/customer_segments.sql")], {},
                             {"model.p.customer_segments": "models/both.yml"}, nodes)
    (edit,) = [c for c in deletion.changes if c.path == "models/both.yml"]
    assert edit.after == "version: 2\nmodels:\n  - name: fct_margins\n"


def test_a_semantic_entry_that_cannot_be_found_is_a_problem(tmp_path):
    nodes = {"metric.p.ghost": node("metric", "ghost", ("model.p.fct_orders",))}
    deletion = plan_deletion(project(tmp_path), [orphan("fct_orders", "models/fct_orders.sql")], {}, {}, nodes)
    assert deletion.problems == ("models/semantic.yml: metrics ghost not found",)


def test_a_semantic_node_whose_file_leaves_the_project_is_a_problem_never_read(tmp_path):
    nodes = {"metric.p.out": node("metric", "out", ("model.p.fct_orders",), "../elsewhere.yml")}
    deletion = plan_deletion(project(tmp_path), [orphan("fct_orders", "models/fct_orders.sql")], {}, {}, nodes)
    assert [c.path for c in deletion.changes] == ["models/fct_orders.sql"]
    assert deletion.problems == ("metric.p.out: its YAML file '../elsewhere.yml' cannot be edited",)


def test_the_deletion_action_names_the_semantic_nodes_that_go_with_it(tmp_path):
    actions = plan_actions([], [orphan("fct_orders", "models/fct_orders.sql"),
                                orphan("fct_margins", "models/fct_margins.sql")], "r1", project(tmp_path),
                           semantic=NODES)
    by_name = {a.name: a for a in actions}
    assert by_name["fct_orders"].semantic == GONE_WITH_ORDERS
    assert by_name["fct_margins"].semantic == ("metric.p.margin", "metric.p.revenue_per_margin", "saved_query.p.weekly",
                                               "saved_query.p.weekly_margin", "semantic_model.p.margins")
    assert by_name["fct_orders"].to_dict()["semantic"] == list(GONE_WITH_ORDERS)


def test_edit_properties_removes_a_metric_and_drops_the_emptied_section():
    text = "version: 2\nmodels:\n  - name: a\nmetrics:\n  - name: m\n    type: simple\n"
    edit = edit_properties(text, [], [], [("metrics", "m")])
    assert edit.after == "version: 2\nmodels:\n  - name: a\n"
    assert edit.removed == ("metrics m",) and edit.not_found == ()
