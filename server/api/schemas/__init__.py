"""Request and response bodies of the HTTP API as pydantic models (the OpenAPI document is
generated from them; see server/api/contract.py)."""
