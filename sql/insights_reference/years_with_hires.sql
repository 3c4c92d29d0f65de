-- The plain query over hired_employees that sql/insights/years_with_hires.sql must equal: the
-- years that have hires (UTC).
SELECT DISTINCT date_part('year', datetime AT TIME ZONE 'UTC')::integer AS year
FROM hired_employees
ORDER BY year
