select
    s.session_id,
    s.customer_id,
    s.channel,
    s.campaign,
    s.started_at,
    count(p.pageview_id) as pageviews
from {{ ref('stg_web__sessions') }} as s
left join {{ ref('stg_web__pageviews') }} as p using (session_id)
group by 1, 2, 3, 4, 5
