select
    order_id,
    customer_id,
    order_date,
    status,
    currency,
    order_amount,
    item_count
from {{ ref('int_orders_enriched') }}
