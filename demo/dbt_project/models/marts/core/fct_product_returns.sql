-- DELIBERATE CASE b: read only by stale (not archived) reports.
select
    product_id,
    category,
    reason,
    count(*) as returns
from {{ ref('int_product_returns') }}
group by 1, 2, 3
