"""What crosses between the grader and a worker: the job, the report frames, the progress page and
plain data. Both sides import it; it imports nothing else of the package but `config`."""
