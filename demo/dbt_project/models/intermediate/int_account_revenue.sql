select
    a.account_id,
    a.account_name,
    a.segment,
    a.region,
    coalesce(sum(ip.invoice_amount), 0) as invoiced,
    coalesce(sum(ip.paid_amount), 0) as paid
from {{ ref('stg_billing__accounts') }} as a
left join {{ ref('int_invoice_payments') }} as ip using (account_id)
group by 1, 2, 3, 4
