"""Spreadsheets for program staff: a cycle's toolkits, records of 1.2 and 1.3, certificates."""
