-- DELIBERATE CASE a (dead chain, 2/3)
select
    c.coupon_id,
    c.coupon_code,
    c.discount_pct,
    o.order_id,
    o.order_date
from {{ ref('stg_legacy_coupons') }} as c
join {{ ref('stg_shop__orders') }} as o using (order_id)
