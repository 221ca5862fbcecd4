"""Reference answers to the exercises, written for reading. Try the exercise first."""
