select
    o.order_id,
    o.customer_id,
    o.order_date,
    o.status,
    o.currency,
    coalesce(sum(i.line_amount), 0) as order_amount,
    coalesce(sum(i.quantity), 0) as item_count
from {{ ref('stg_shop__orders') }} as o
left join {{ ref('int_order_items_enriched') }} as i using (order_id)
group by 1, 2, 3, 4, 5
