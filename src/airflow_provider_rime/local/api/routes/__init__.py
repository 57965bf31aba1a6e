"""RIME's REST API, one router per resource. Routes are thin: typed parameters in, a service
call, ``local.render`` out."""
