"""Program rules as plain Python: no Flask, no database. Tested on their own."""
