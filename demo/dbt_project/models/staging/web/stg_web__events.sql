select
    event_id,
    session_id,
    event_name,
    order_id,
    cast(occurred_at as timestamp) as occurred_at
from {{ source('web', 'events') }}
