select
    c.customer_id,
    c.region,
    count(o.order_id) as orders,
    coalesce(sum(o.order_amount), 0) as lifetime_value
from {{ ref('dim_customers') }} as c
left join {{ ref('fct_orders') }} as o using (customer_id)
group by 1, 2
