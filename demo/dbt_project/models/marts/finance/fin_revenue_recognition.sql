select
    d.month_start,
    sum(i.invoice_amount) as recognised_amount
from {{ ref('fin_invoices') }} as i
join {{ ref('dim_dates') }} as d on d.date_day = i.invoice_date
where i.status <> 'void'
group by 1
