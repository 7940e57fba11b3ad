"""PDF documents: the checks an uploaded annex must pass (`documents.pdf_check`), and the
documents Guichet issues — the receipt (`documents.receipt`) and the decision letter
(`documents.letter`), laid out by `documents.layout` and sealed by `documents.seal`."""
