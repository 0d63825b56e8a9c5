"""6. eval: retrieval metrics, baselines, evaluation runs and their reports, dataset loaders."""
