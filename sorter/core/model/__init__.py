"""The model: its file and typed metadata, safe loading, networks, decoding, scoring, decisions."""
