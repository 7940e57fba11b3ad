"""PDF documents: the checks an uploaded annex must pass (`documents.pdf_check`)."""
