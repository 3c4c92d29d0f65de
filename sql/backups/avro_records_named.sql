-- Each row of a table of an id and a name (departments, jobs) as its AVRO record (id int,
-- the name string: see 010_avro_encoding.sql), in hex, a line each, in id order. The inner
-- queries compute each value once (OFFSET 0 keeps them apart), so that the inlined encoders
-- repeat plain columns, not expressions.
COPY (
    SELECT encode(hrapi_avro_long(zid) || hrapi_avro_long(zlen) || txt, 'hex')
    FROM (SELECT zid, 2 * octet_length(txt)::bigint AS zlen, txt
          FROM (SELECT 2 * id::bigint AS zid, convert_to({value_columns}, 'UTF8') AS txt
                FROM {target} ORDER BY id OFFSET 0) AS r
          OFFSET 0) AS s
) TO STDOUT
