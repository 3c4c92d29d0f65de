COPY hrapi_counts_stage (year, department_id, job_id, quarter, hires) FROM STDIN
