select
    pageview_id,
    session_id,
    page_path,
    cast(viewed_at as timestamp) as viewed_at
from {{ source('web', 'pageviews') }}
