"""REST: who am I, and my API tokens."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.auth import service
from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, require
from siyu.auth.schemas import ApiTokenCreate, ApiTokenCreated, ApiTokenOut, Me

router = APIRouter(tags=["auth"])


@router.get("/me", response_model=Me)
def me(principal: CurrentPrincipal) -> Me:
    return Me(user_id=principal.user_id, corp_id=principal.corp_id, username=principal.username,
              display_name=principal.display_name, role=principal.role, department_id=principal.department_id,
              staff_id=principal.staff_id, language=principal.language)


@router.get("/auth/tokens", response_model=list[ApiTokenOut])
def list_tokens(session: DbSession, principal: CurrentPrincipal):
    return service.list_tokens(session, principal)


@router.post("/auth/tokens", response_model=ApiTokenCreated, status_code=201,
             dependencies=[require("tokens.write")])
def create_token(body: ApiTokenCreate, session: DbSession, principal: CurrentPrincipal):
    token, secret = service.create_token(session, principal, body.name)
    return ApiTokenCreated.model_validate({**ApiTokenOut.model_validate(token).model_dump(), "token": secret})


@router.delete("/auth/tokens/{token_id}", response_model=ApiTokenOut, dependencies=[require("tokens.write")])
def revoke_token(token_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    return service.revoke_token(session, principal, token_id, clock)
