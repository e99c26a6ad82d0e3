"""Training jobs: records, the task queue, the workers' task, the reaper and the job service.

Follow a job through the names: ``routes.jobs`` -> ``jobs.service`` (validate, enqueue,
read) -> ``jobs.queue`` (huey) -> ``jobs.tasks`` (the worker's side) -> ``jobs.store``
(the records every process shares).
"""
