"""Training jobs: records, the task queue, the workers, the reaper and the job service.

Follow a job through the names: ``jobs.routes`` -> ``jobs.service`` (validate, enqueue,
read) -> ``jobs.queue`` (huey) -> ``jobs.worker`` (the workers' side: ``tasks`` ->
``runner`` -> ``training``) -> ``jobs.store`` (the records every process shares).
``jobs.reaper`` finds lost workers; ``jobs.watch`` follows jobs for waiting clients.
"""
