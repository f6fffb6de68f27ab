"""Benchmarks of sct-forms: ``python -m bench`` (see ``bench.__main__``).

Each run builds its own data in temporary instances (generated photos and PDFs, towns and
toolkits made through the app's services), measures, and prints every figure with its target.
"""
