select payment_id, invoice_id, paid_at, amount, method
from {{ ref('stg_billing__payments') }}
