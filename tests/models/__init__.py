"""The offline model registry (prepare, load) and Hub upload against a loopback server."""
