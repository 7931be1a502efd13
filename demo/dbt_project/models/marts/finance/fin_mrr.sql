select
    h.account_id,
    a.region,
    h.plan,
    h.mrr
from {{ ref('int_subscription_history') }} as h
join {{ ref('stg_billing__accounts') }} as a using (account_id)
where h.is_current and h.status = 'active'
