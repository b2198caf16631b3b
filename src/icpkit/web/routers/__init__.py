"""One APIRouter per OpenAPI tag of /v1, one for the pages and one for /healthz and the schema;
``icpkit.web.app.create_app`` includes them all."""

from icpkit.web.routers import (
    accounts,
    builds,
    feedback,
    lookalikes,
    meta,
    pages,
    profile,
    score,
    uploads,
    versions,
    worklist,
)

API = (
    score.router,
    accounts.router,
    profile.router,
    versions.router,
    feedback.router,
    builds.router,
    uploads.router,
    lookalikes.router,
    worklist.router,
)
__all__ = ["API", "meta", "pages"]
