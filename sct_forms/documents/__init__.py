"""PDF documents from Jinja templates by WeasyPrint: the render service with its document context,
and submission packets (certificates, which render through it, are sct_forms.certificates)."""
