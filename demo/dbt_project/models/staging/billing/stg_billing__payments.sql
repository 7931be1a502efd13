select
    payment_id,
    invoice_id,
    cast(paid_at as date) as paid_at,
    cast(amount as decimal(12, 2)) as amount,
    method
from {{ source('billing', 'payments') }}
