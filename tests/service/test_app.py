"""The app as a whole: its documentation pages work offline, under their own CSP."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from service.config import Settings
from service.web.headers import DOCS_POLICY
from tests.service._api import running
from tests.service.explorer._page import browser, browser_or_skip, serve, wait

pytestmark = pytest.mark.anyio

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_load_everything_from_the_service_itself(
    client: httpx.AsyncClient, page: str
) -> None:
    html = await client.get(page)
    assert html.status_code == 200
    assert html.headers["content-security-policy"] == DOCS_POLICY
    sources = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    assert sources, html.text
    for source in sources:
        assert source.startswith("/"), f"{page} loads {source} from elsewhere"
        asset = await client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 0
    assert "fonts.googleapis" not in html.text
    assert "/openapi.json" in html.text


async def test_the_docs_and_their_files_need_no_token(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_token=SecretStr("s3cret"))
    async with running(settings) as (_, client):
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/assets/swagger-ui-bundle.js"):
            assert (await client.get(path)).status_code == 200, path
        assert (await client.get("/datasets")).status_code == 401


@pytest.mark.slow
@pytest.mark.parametrize(
    ("page", "rendered"), [("/docs", ".opblock"), ("/redoc", "[data-section-id]")]
)
def test_the_docs_render_in_a_browser_from_the_service_alone(
    tmp_path: Path, page: str, rendered: str
) -> None:
    """Swagger UI and ReDoc draw every operation from the service's own files, fetch
    nothing from elsewhere, and break no rule of their content security policy."""
    from selenium.webdriver.common.by import By

    browser_or_skip()
    server = serve(tmp_path)
    try:
        with browser() as driver:
            driver.get(server.url + page)
            wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, rendered)) >= 10)
            fetched = driver.execute_script(
                "return performance.getEntriesByType('resource').map(e => e.name)"
            )
            assert fetched
            elsewhere = {
                url for url in fetched if not url.startswith((server.url, "blob:", "data:"))
            }
            # ReDoc's bundle asks its CDN for its logo (Redocly/redoc#2108); the page's CSP
            # (img-src 'self') refuses it, so nothing leaves the machine and nothing is missed.
            assert elsewhere <= {REDOC_LOGO}, elsewhere
            errors = [
                entry["message"]
                for entry in driver.get_log("browser")
                if entry["level"] == "SEVERE" and REDOC_LOGO not in entry["message"]
            ]
            assert errors == []
    finally:
        server.stop()
