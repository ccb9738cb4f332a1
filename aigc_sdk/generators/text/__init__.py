"""Text generators: LLMs, data-to-text templates, script writing and sentence embeddings (one file each)."""
