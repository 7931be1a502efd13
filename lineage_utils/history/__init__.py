"""The run-history store: one DuckDB file of metapipeline runs, dbt invocations and node executions."""
