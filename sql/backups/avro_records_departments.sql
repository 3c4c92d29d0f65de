-- Each department as its AVRO record (id int, department string: see 010_avro_encoding.sql),
-- in hex, a line each, in id order. The inner queries compute each value once (OFFSET 0 keeps
-- them apart), so that the inlined encoders repeat plain columns, not expressions.
COPY (
    SELECT encode(hrapi_avro_long(zid) || hrapi_avro_long(zlen) || txt, 'hex')
    FROM (SELECT zid, 2 * octet_length(txt)::bigint AS zlen, txt
          FROM (SELECT 2 * id::bigint AS zid, convert_to(department, 'UTF8') AS txt
                FROM departments ORDER BY id OFFSET 0) AS r
          OFFSET 0) AS s
) TO STDOUT
