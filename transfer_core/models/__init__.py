"""Networks and their weights: the staged backbones (EfficientNet-Lite, torchvision's, the character-level
word encoders), where pretrained weights come from, weights a learner brings, and the transfer strategies
that build a run's model (from scratch, feature copy, feature fusion, LP-FT)."""
