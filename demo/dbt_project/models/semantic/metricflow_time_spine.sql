{{ config(schema="semantic") }}
-- The semantic layer's time spine: one row per day (MetricFlow joins metrics to it for
-- cumulative windows, offsets and gap filling). Configured as the project's time spine in
-- semantic.yml (`time_spine:`, dbt >= 1.9); nothing else reads it.
select cast(d as date) as date_day
from range(date '2024-01-01', date '2028-01-01', interval 1 day) as t(d)
