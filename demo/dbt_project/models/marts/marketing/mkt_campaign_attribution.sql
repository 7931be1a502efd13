-- DELIBERATE CASE g: read only inside a Liquid else-branch that the form defaults do not take.
select
    campaign,
    channel,
    count(*) as touches,
    count(distinct order_id) as attributed_orders
from {{ ref('int_web_conversions') }}
group by 1, 2
