-- How many rows a table holds (hrapi seed refuses to mix data into tables that hold rows).
SELECT count(*) FROM {target}
