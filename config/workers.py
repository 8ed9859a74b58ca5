"""The gunicorn worker class: uvicorn's, serving config.asgi (gunicorn -k config.workers.Worker).

Django does not speak ASGI's lifespan protocol: turned off, rather than logged
as unsupported at every start.
"""

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    CONFIG_KWARGS = {"loop": "auto", "http": "auto", "lifespan": "off"}
