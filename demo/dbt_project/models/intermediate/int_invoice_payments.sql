select
    i.invoice_id,
    i.account_id,
    i.invoice_date,
    i.currency,
    i.amount as invoice_amount,
    i.status,
    coalesce(sum(p.amount), 0) as paid_amount,
    max(p.paid_at) as last_paid_at
from {{ ref('stg_billing__invoices') }} as i
left join {{ ref('stg_billing__payments') }} as p using (invoice_id)
group by 1, 2, 3, 4, 5, 6
