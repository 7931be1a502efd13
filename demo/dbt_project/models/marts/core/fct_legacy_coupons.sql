-- DELIBERATE CASE a (dead chain, 3/3): no report, no exposure reads it.
select
    coupon_code,
    discount_pct,
    count(order_id) as redemptions
from {{ ref('int_legacy_coupon_usage') }}
group by 1, 2
