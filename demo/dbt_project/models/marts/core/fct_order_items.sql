-- reads the ephemeral int_order_items_enriched
select
    i.order_item_id,
    i.order_id,
    o.order_date,
    i.product_id,
    i.category,
    i.quantity,
    i.line_amount
from {{ ref('int_order_items_enriched') }} as i
join {{ ref('stg_shop__orders') }} as o using (order_id)
