"""What the API's routes do, one module per resource.

Services take a store session and typed requests (``rime_api.documents``), read and write the
store, queue jobs, and raise the engine's domain errors (``local.errors``); they know nothing of
HTTP. Routes call them and render the result (``local.render``).
"""
