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

pytestmark = pytest.mark.anyio


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
