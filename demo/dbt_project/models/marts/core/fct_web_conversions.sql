select
    channel,
    campaign,
    cast(started_at as date) as session_date,
    count(*) as conversions,
    count(distinct order_id) as orders
from {{ ref('int_web_conversions') }}
group by 1, 2, 3
