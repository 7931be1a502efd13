-- DELIBERATE CASE c: read only by an archived report.
select
    c.region,
    date_trunc('month', o.order_date) as order_month,
    sum(o.order_amount) as partner_revenue
from {{ ref('fct_orders') }} as o
join {{ ref('dim_customers') }} as c using (customer_id)
where o.status = 'completed'
group by 1, 2
