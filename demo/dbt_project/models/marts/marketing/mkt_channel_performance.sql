-- DELIBERATE CASE h: read only through the Mode dataset "Channel performance dataset".
select
    s.channel,
    count(distinct s.session_id) as sessions,
    count(distinct c.order_id) as orders
from {{ ref('fct_sessions') }} as s
left join {{ ref('int_web_conversions') }} as c using (session_id)
group by 1
