select
    invoice_id,
    account_id,
    invoice_date,
    currency,
    invoice_amount,
    paid_amount,
    status,
    last_paid_at
from {{ ref('int_invoice_payments') }}
