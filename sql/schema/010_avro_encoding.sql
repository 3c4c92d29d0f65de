-- 010: AVRO's encoding of values, in SQL, so that a backup's records are encoded where the
-- rows are (sql/backups/avro_records_*.sql) and Python only frames, compresses and writes
-- blocks: a backup then runs at the database's speed, not at one Python call per value.
--
-- hrapi_avro_long(z): the variable-length encoding of a zig-zag value z >= 0 (AVRO's int and
-- long, after hrapi_avro_zigzag): 7 bits a byte, low bits first, the high bit set on every byte
-- but the last. The bytes of each length are packed into a bigint and sent with int8send; every
-- term is in parentheses because PostgreSQL's bit operators all share one precedence. A plain
-- SQL function with one expression: the planner inlines it (callers pass plain columns, see the
-- records' queries, so that an argument is not computed once per use).
CREATE FUNCTION hrapi_avro_long(z bigint) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
      WHEN z < 128 THEN substring(int8send(z) from 8)
      WHEN z < 16384 THEN substring(int8send((((z & 127) | 128) << 8) | (z >> 7)) from 7)
      WHEN z < 2097152 THEN substring(int8send((((z & 127) | 128) << 16) | ((((z >> 7) & 127) | 128) << 8) | (z >> 14)) from 6)
      WHEN z < 268435456 THEN substring(int8send((((z & 127) | 128) << 24) | ((((z >> 7) & 127) | 128) << 16) | ((((z >> 14) & 127) | 128) << 8) | (z >> 21)) from 5)
      WHEN z < 34359738368 THEN substring(int8send((((z & 127) | 128) << 32) | ((((z >> 7) & 127) | 128) << 24) | ((((z >> 14) & 127) | 128) << 16) | ((((z >> 21) & 127) | 128) << 8) | (z >> 28)) from 4)
      WHEN z < 4398046511104 THEN substring(int8send((((z & 127) | 128) << 40) | ((((z >> 7) & 127) | 128) << 32) | ((((z >> 14) & 127) | 128) << 24) | ((((z >> 21) & 127) | 128) << 16) | ((((z >> 28) & 127) | 128) << 8) | (z >> 35)) from 3)
      WHEN z < 562949953421312 THEN substring(int8send((((z & 127) | 128) << 48) | ((((z >> 7) & 127) | 128) << 40) | ((((z >> 14) & 127) | 128) << 32) | ((((z >> 21) & 127) | 128) << 24) | ((((z >> 28) & 127) | 128) << 16) | ((((z >> 35) & 127) | 128) << 8) | (z >> 42)) from 2)
      WHEN z < 72057594037927936 THEN int8send((((z & 127) | 128) << 56) | ((((z >> 7) & 127) | 128) << 48) | ((((z >> 14) & 127) | 128) << 40) | ((((z >> 21) & 127) | 128) << 32) | ((((z >> 28) & 127) | 128) << 24) | ((((z >> 35) & 127) | 128) << 16) | ((((z >> 42) & 127) | 128) << 8) | (z >> 49))
      ELSE substring(int8send((((z & 127) | 128) << 48) | ((((z >> 7) & 127) | 128) << 40) | ((((z >> 14) & 127) | 128) << 32) | ((((z >> 21) & 127) | 128) << 24) | ((((z >> 28) & 127) | 128) << 16) | ((((z >> 35) & 127) | 128) << 8) | (((z >> 42) & 127) | 128)) from 2) || substring(int8send(((((z >> 49) & 127) | 128) << 8) | (z >> 56)) from 7)
    END
$$;

-- AVRO's zig-zag mapping of a signed long to the unsigned one hrapi_avro_long encodes.
CREATE FUNCTION hrapi_avro_zigzag(n bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN n >= 0 THEN n << 1 ELSE ((-(n + 1)) << 1) | 1 END
$$;
