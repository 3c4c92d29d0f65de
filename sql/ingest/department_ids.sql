SELECT id FROM departments
