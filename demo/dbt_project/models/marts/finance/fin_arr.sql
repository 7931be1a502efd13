select region, sum(mrr) * 12 as arr
from {{ ref('fin_mrr') }}
group by 1
