"""A finished run looked at again: its model back from the store and evaluated, and what the Features
page shows of it (embeddings, activations, Grad-CAM, weight drift, CKA)."""
