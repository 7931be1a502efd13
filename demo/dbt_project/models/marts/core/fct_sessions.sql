select session_id, customer_id, channel, campaign, started_at, pageviews
from {{ ref('int_web_sessions') }}
