"""Audio generators: speech, music and transcription backends (one file each)."""
