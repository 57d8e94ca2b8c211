"""Side-by-side measurements of the mock against a Starlette ceiling, plain connexion and Prism."""
