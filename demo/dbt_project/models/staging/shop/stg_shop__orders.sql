select
    order_id,
    customer_id,
    cast(order_date as date) as order_date,
    status,
    currency,
    cast(updated_at as timestamp) as updated_at
from {{ source('shop', 'orders') }}
