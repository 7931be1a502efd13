-- DELIBERATE CASE b (upstream): feeds only fct_product_returns, which only stale reports read.
select
    r.return_id,
    r.returned_at,
    r.reason,
    i.product_id,
    p.category
from {{ ref('stg_shop__returns') }} as r
join {{ source('shop', 'order_items') }} as i using (order_item_id)
join {{ ref('stg_shop__products') }} as p using (product_id)
