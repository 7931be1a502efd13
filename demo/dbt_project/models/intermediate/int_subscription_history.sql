-- reads the snapshot
select
    subscription_id,
    account_id,
    plan,
    mrr,
    status,
    dbt_valid_from as valid_from,
    dbt_valid_to as valid_to,
    dbt_valid_to is null as is_current
from {{ ref('snap_subscriptions') }}
