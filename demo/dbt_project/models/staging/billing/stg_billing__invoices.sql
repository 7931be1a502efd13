select
    invoice_id,
    account_id,
    cast(invoice_date as date) as invoice_date,
    currency,
    cast(amount as decimal(12, 2)) as amount,
    status
from {{ source('billing', 'invoices') }}
