"""A fast path compiled from the spec: it serves requests it proves valid and hands all others to connexion.

It is a connexion ``SpecMiddleware``, so connexion registers every API on it at start-up
with the same options (resolver, security map, validator map, ``validate_responses``) it
gives its own middlewares. From each operation it compiles, once: the route, the bearer
check, the path parameters' and the body's JSON Schemas (``mockserver.http.compiled``), the
handler's arguments, and how its answer is encoded.

Per request it only *proves validity*: known path and method, no query string, a bearer
token the verifier accepts, valid path parameters, and for a body ``application/json``
UTF-8 JSON that the compiled schema accepts. Anything it cannot prove (a missing token, a
bad body, an unknown route, a query string, a 405...) goes to connexion untouched (a body
already read is replayed), so every error keeps connexion's status, problem detail and
headers. A handler's domain errors and the response checks (``validate_responses``) raise
the same exceptions connexion would, into the same exception middleware.
"""

from mockserver.http.fastpath.middleware import FastPathMiddleware, operations

__all__ = ["FastPathMiddleware", "operations"]
