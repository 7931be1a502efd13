-- DELIBERATE CASE d: alias dim_accounts in schema finance => relation "demo"."finance"."dim_accounts",
-- the same identifier as marts.dim_accounts.
{{ config(alias='dim_accounts') }}
select
    account_id,
    account_name,
    segment,
    region,
    invoiced,
    paid,
    invoiced - paid as outstanding
from {{ ref('int_account_revenue') }}
