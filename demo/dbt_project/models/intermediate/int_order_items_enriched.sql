-- DELIBERATE: the one ephemeral model (no relation in the warehouse); inlined into fct_order_items and int_orders_enriched.
{{ config(materialized='ephemeral') }}
select
    i.order_item_id,
    i.order_id,
    i.product_id,
    p.category,
    i.quantity,
    p.unit_price,
    i.quantity * p.unit_price as line_amount
from {{ ref('stg_shop__order_items') }} as i
join {{ ref('stg_shop__products') }} as p using (product_id)
