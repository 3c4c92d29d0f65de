-- Each hire as its AVRO record (id int, name string, datetime timestamp-micros, department_id
-- int, job_id int: see 010_avro_encoding.sql), in hex, a line each, in id order. The inner
-- queries compute each value once (OFFSET 0 keeps them apart), so that the inlined encoders
-- repeat plain columns, not expressions. Microseconds since 1970 in UTC, exactly (extract
-- gives a numeric).
COPY (
    SELECT encode(hrapi_avro_long(zid) || hrapi_avro_long(zlen) || txt || hrapi_avro_long(zts)
                  || hrapi_avro_long(zdep) || hrapi_avro_long(zjob), 'hex')
    FROM (SELECT zid, 2 * octet_length(txt)::bigint AS zlen, txt, hrapi_avro_zigzag(us) AS zts,
                 zdep, zjob
          FROM (SELECT 2 * id::bigint AS zid, convert_to(name, 'UTF8') AS txt,
                       (extract(epoch FROM datetime) * 1000000)::bigint AS us,
                       2 * department_id::bigint AS zdep, 2 * job_id::bigint AS zjob
                FROM hired_employees ORDER BY id OFFSET 0) AS r
          OFFSET 0) AS s
) TO STDOUT
