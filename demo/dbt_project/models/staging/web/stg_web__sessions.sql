select
    session_id,
    customer_id,
    channel,
    campaign,
    cast(started_at as timestamp) as started_at
from {{ source('web', 'sessions') }}
