"""Words as data: word lists by language, the word encoders' source task and its weights, a learner's
own word lists, and how a trained model reads a word letter by letter."""
