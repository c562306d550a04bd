"""The images and words runs learn from: the registry of datasets and its splits, shifts and augmentation;
downloads; what a learner uploads; a session's own datasets and weights files; folders an operator shares."""
