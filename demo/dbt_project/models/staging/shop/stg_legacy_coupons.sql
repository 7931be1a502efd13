-- DELIBERATE CASE a (dead chain, 1/3): nothing downstream of this chain is read.
select
    coupon_id,
    code as coupon_code,
    order_id,
    discount_pct,
    cast(issued_at as date) as issued_at
from {{ source('shop', 'legacy_coupons') }}
