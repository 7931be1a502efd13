select
    d.date_day,
    coalesce(sum(o.order_amount * fx.rate_to_usd), 0) as revenue_usd,
    count(o.order_id) as orders
from {{ ref('dim_dates') }} as d
left join {{ ref('fct_orders') }} as o
    on o.order_date = d.date_day and o.status <> 'cancelled'
left join {{ ref('fx_rates') }} as fx
    on fx.currency = o.currency
where d.date_day between date '2026-01-01' and date '2026-12-31'
group by 1
