"""Training side: MNIST data, the CNN, training, evaluation and the reports in ``models/``."""
