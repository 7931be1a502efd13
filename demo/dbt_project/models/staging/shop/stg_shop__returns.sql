select
    return_id,
    order_item_id,
    cast(returned_at as date) as returned_at,
    reason
from {{ source('shop', 'returns') }}
