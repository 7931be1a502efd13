{{ config(schema="semantic") }}
-- Gross margin per order. Read only by the semantic model `order_margins` (metric
-- `gross_margin`): no BI report, exposure or other model reads it.
select
    order_id,
    order_date,
    order_amount,
    round(order_amount * 0.35, 2) as gross_margin
from {{ ref('fct_orders') }}
where status <> 'cancelled'
