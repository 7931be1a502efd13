select
    customer_id,
    first_name,
    last_name,
    lower(email) as email,
    country_code,
    cast(created_at as timestamp) as created_at
from {{ source('shop', 'customers') }}
