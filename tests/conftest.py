"""Fixtures shared by every test package (each area adds its own conftest below tests/)."""
