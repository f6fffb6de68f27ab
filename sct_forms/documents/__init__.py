"""PDF documents (submission packets, certificates) rendered from Jinja templates by WeasyPrint."""
