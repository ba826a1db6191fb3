"""Shared core: AWS clients, settings, logging, metrics, HTTP glue and errors, route
declarations, DynamoDB helpers, queues, jobs and the dashboard's counters."""
