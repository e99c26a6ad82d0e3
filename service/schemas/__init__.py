"""Request and response models, one module per resource (``common`` holds the shared shapes)."""
