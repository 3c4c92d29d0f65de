-- The years that have hires (UTC), for the dashboard's year menu.
SELECT year FROM hire_counts WHERE hires > 0 GROUP BY year ORDER BY year
