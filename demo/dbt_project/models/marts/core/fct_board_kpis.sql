-- DELIBERATE CASE e: read only by the hand-written exposure board_kpis_dashboard.
select
    date_trunc('month', r.date_day) as kpi_month,
    sum(r.revenue_usd) as revenue_usd,
    (select sum(mrr) from {{ ref('fin_mrr') }}) as current_mrr
from {{ ref('fct_daily_revenue') }} as r
group by 1
