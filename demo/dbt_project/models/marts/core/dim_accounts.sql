-- DELIBERATE CASE d: relation "demo"."marts"."dim_accounts". finance.fin_dim_accounts has the
-- same identifier (alias dim_accounts) in schema finance.
select
    a.account_id,
    a.account_name,
    a.segment,
    a.region,
    r.invoiced,
    r.paid
from {{ ref('stg_billing__accounts') }} as a
left join {{ ref('int_account_revenue') }} as r using (account_id)
