select
    s.session_id,
    s.channel,
    s.campaign,
    s.started_at,
    e.order_id,
    o.order_date
from {{ ref('int_web_sessions') }} as s
join {{ ref('stg_web__events') }} as e
    on e.session_id = s.session_id and e.event_name = 'purchase'
left join {{ ref('stg_shop__orders') }} as o
    on o.order_id = e.order_id
