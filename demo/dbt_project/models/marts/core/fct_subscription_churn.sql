select
    plan,
    count(*) filter (where is_current and status = 'cancelled') as churned,
    count(*) filter (where is_current) as current_subscriptions
from {{ ref('int_subscription_history') }}
group by 1
