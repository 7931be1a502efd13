select
    customer_id,
    count(*) as order_count,
    min(order_date) as first_order_date,
    max(order_date) as last_order_date,
    sum(order_amount) as total_amount
from {{ ref('int_orders_enriched') }}
where status <> 'cancelled'
group by 1
