-- 0070 event properties and values on the raw hits (issue 17 item 3).
-- Why: custom events carry properties (`emc("name", {props})`, Matomo e_c/e_a/e_n) and Matomo
-- events a numeric value (e_v); until now the collector kept only the event's name, so no
-- report could group by a property or sum a value. props is Map(String, String): properties
-- are flattened to text at the collector (schemas.hits.event_props) so every property is
-- grouped the same way; value is Nullable because "no value" differs from 0. Existing rows
-- read an empty map and NULL. bot_hits has the same layout as pageviews (0003) and follows.
ALTER TABLE {database}.pageviews
    ADD COLUMN IF NOT EXISTS props Map(String, String),
    ADD COLUMN IF NOT EXISTS value Nullable(Float64);

ALTER TABLE {database}.bot_hits
    ADD COLUMN IF NOT EXISTS props Map(String, String),
    ADD COLUMN IF NOT EXISTS value Nullable(Float64);
