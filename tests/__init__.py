"""hrapi test suite."""
