select
    c.customer_id,
    c.first_name,
    c.last_name,
    c.email,
    c.country_code,
    cc.country_name,
    cc.region,
    c.created_at,
    coalesce(co.order_count, 0) as order_count,
    co.first_order_date,
    co.last_order_date
from {{ ref('stg_shop__customers') }} as c
left join {{ ref('country_codes') }} as cc using (country_code)
left join {{ ref('int_customer_orders') }} as co using (customer_id)
