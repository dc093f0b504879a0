"""The HTTP edge: the ASGI app factory, the edge pipeline in front of every `/2/` route, the X
API v2 routes, the admin routes, and the mapping of errors to X `Problem` bodies.

Owns HTTP; does not own business rules (those live in the domain packages).
"""
