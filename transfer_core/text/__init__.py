"""Sentences: a transformer pretrained by others (all-MiniLM-L6-v2), WordNet's definitions, a TF-IDF baseline."""
