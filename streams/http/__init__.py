"""The worker's HTTP API: access control, read views, actions, the OpenAPI document."""
