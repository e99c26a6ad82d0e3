"""The worker side of jobs: the huey consumer, its task, running one job, the training itself."""
