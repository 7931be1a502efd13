-- DELIBERATE: disabled model (enabled: false). It never appears among the manifest's nodes.
{{ config(enabled=false) }}
select 1 as gift_card_id
