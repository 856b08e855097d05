-- journal_waiting (V13) joined each sink's cursor as a column, so its row comparison could not
-- bound the (tx, id) index: every use scanned the whole journal (hundreds of milliseconds at a few
-- hundred thousand rows). As a LATERAL subquery the cursor is a parameter of the scan. Same
-- columns, same rows.
CREATE OR REPLACE VIEW journal_waiting AS
SELECT k.sink, j.*
FROM (VALUES ('archive', 1), ('timeseries', 2), ('registry', 4)) AS k(sink, bit)
LEFT JOIN journal_cursor c ON c.sink = k.sink
CROSS JOIN LATERAL (
  SELECT * FROM journal j
  WHERE (j.tx, j.id) > (coalesce(c.tx, '0'), coalesce(c.id, 0)) AND (j.sinks & k.bit) <> 0
) j;
