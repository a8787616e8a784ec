"""Routers added to the app one route at a time, so a request is matched against one flat
list.

FastAPI (0.16x) keeps an included router as a branch of its own and, for every request,
walks the branches with their bookkeeping (a version check of every router below, the
route's context set and restored in the scope): with about 250 routes in 20 routers, that
walk was a third of the CPU of `/healthz` and a tenth of a redemption's. A route added to
the app itself is matched by its path pattern alone. The order of the routes, and so which
one answers a path that two patterns match, is the order `app.include_router` gave.

Building a route (its dependencies read from the endpoint's signature, a pydantic adapter per
parameter) costs about 0.3 ms, and the app has about 600: a new app would spend 0.2–0.5 s on
it. Routes hold nothing of the app that serves them (what a request needs, it reads from
`request.app`), so each router's routes are built once per process, on a blank app with
FastAPI's defaults, and every app made after adds those same routes. The one thing of the
app a route would keep is `app.dependency_overrides`: nothing here uses it, and it is not
consulted.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

__all__ = ["include_flat"]

# Everything an APIRoute was configured with (the router's own tags, dependencies and
# responses are in it already: `APIRouter.add_api_route` merged them when it was declared).
_SETTINGS = (
    "response_model",
    "status_code",
    "tags",
    "dependencies",
    "summary",
    "description",
    "response_description",
    "responses",
    "deprecated",
    "methods",
    "operation_id",
    "response_model_include",
    "response_model_exclude",
    "response_model_by_alias",
    "response_model_exclude_unset",
    "response_model_exclude_defaults",
    "response_model_exclude_none",
    "include_in_schema",
    "response_class",
    "name",
    "callbacks",
    "openapi_extra",
    "generate_unique_id_function",
    "strict_content_type",
    "max_body_size",
)


# (router, prefix) → the router (kept, so that its id is not another's) and its routes.
_BUILT: dict[tuple[int, str], tuple[APIRouter, list[BaseRoute]]] = {}


def include_flat(app: FastAPI, router: APIRouter, prefix: str = "") -> None:
    """Add each of `router`'s routes to `app` under `prefix`, as `app.include_router(router,
    prefix=prefix)` would serve them. `router` may hold only API routes (declared with its
    decorators); a mount goes on the app itself."""
    key = (id(router), prefix)
    built = _BUILT.get(key)
    if built is None or built[0] is not router:
        built = _BUILT[key] = (router, _built(router, prefix))
    app.router.routes.extend(built[1])


def _built(router: APIRouter, prefix: str) -> list[BaseRoute]:
    blank = FastAPI()  # FastAPI's defaults, as the apps have them
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r} is not an API route: add it to the app itself")
        settings: dict[str, Any] = {name: getattr(route, name) for name in _SETTINGS}
        blank.router.add_api_route(
            prefix + route.path,
            route.endpoint,
            route_class_override=type(route),
            form_limits=route.form_limits or None,
            **settings,
        )
    return [r for r in blank.router.routes if isinstance(r, APIRoute)]
