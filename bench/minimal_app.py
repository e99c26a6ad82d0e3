"""The floor of a tiny call: a bare FastAPI route that validates the body of ``POST /loss``
and answers JSON of the same shape, served by the same uvicorn (httptools, uvloop)."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Weights(BaseModel):
    wx: float
    wrec: float


class LossRequest(BaseModel):
    weights: Weights


@app.post("/loss")
async def loss(body: LossRequest) -> dict[str, float | bool]:
    return {"loss": 0.0, "overflow": False}
