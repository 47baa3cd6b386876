"""The book's plans above the chapter packages: the contrastive runs each chapter shows, the
reference runs and their committed results, and the ``aniso-eval`` command line."""
