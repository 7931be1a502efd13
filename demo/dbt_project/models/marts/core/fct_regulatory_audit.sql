-- DELIBERATE CASE f: read by nothing, protected by configuration (tag keep).
{{ config(tags=['keep']) }}
select
    a.account_id,
    a.region,
    count(i.invoice_id) as invoices,
    sum(i.invoice_amount) as invoiced
from {{ ref('dim_accounts') }} as a
left join {{ ref('fin_invoices') }} as i using (account_id)
group by 1, 2
