select
    cast(d as date) as date_day,
    extract(year from d) as year,
    extract(month from d) as month,
    extract(isodow from d) as iso_day_of_week,
    date_trunc('month', d) as month_start
from range(date '2025-01-01', date '2027-01-01', interval 1 day) as t(d)
