"""grader: grade deep-learning notebook assignments on what their models can do."""
__version__ = "0.1.0"
