select
    account_id,
    account_name,
    segment,
    region,
    cast(created_at as date) as created_at
from {{ source('billing', 'accounts') }}
