"""HTTP plumbing shared by every resource: problems, middleware, encoding, logging."""
