"""What every app shares and nothing of the domain: the bottom layer.

Domain errors, safe Markdown, and the REST API's common shapes (errors,
pagination, body limits). It imports Django and libraries only.
"""
