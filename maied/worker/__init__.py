"""The worker: a supervisor in the daemon and a child process that owns the models and the GPU."""
