{#- Loads raw_data/<source>/<table>.csv into raw_<source>.<table>.
    Runs as the on-run-start hook; relative paths resolve against the project directory. -#}
{% macro load_raw_data() %}
  {%- set tables = {
      'shop': ['customers', 'orders', 'order_items', 'products', 'returns', 'legacy_coupons'],
      'web': ['sessions', 'pageviews', 'events'],
      'billing': ['accounts', 'invoices', 'payments', 'subscriptions'],
  } -%}
  {%- for src, names in tables.items() %}
    create schema if not exists raw_{{ src }};
    {%- for t in names %}
    create or replace table raw_{{ src }}.{{ t }} as select * from read_csv_auto('raw_data/{{ src }}/{{ t }}.csv', header = true);
    {%- endfor %}
  {%- endfor %}
{% endmacro %}
