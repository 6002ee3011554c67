"""REST: a customer's traits, and the corp's trait settings."""

from __future__ import annotations

from fastapi import APIRouter, Request

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, request_language, require
from siyu.customer import trait_repository, trait_schemas, traits
from siyu.customer.tasks import REFIT_VALUE_MODEL, REFRESH_SCORES
from siyu.kit.errors import NotFound
from siyu.kit.i18n import translate
from siyu.kit.jobs import enqueue

router = APIRouter(tags=["traits"])


@router.get("/customers/{customer_id}/traits", response_model=trait_schemas.CustomerTraits,
            dependencies=[require("customers.read")])
def customer_traits(customer_id: int, request: Request, session: DbSession, principal: CurrentPrincipal):
    trait = trait_repository.customer_trait(session, principal, customer_id)
    if trait is None:
        raise NotFound("error.customer_traits_not_found")
    language = request_language(request)
    out = trait_schemas.CustomerTraits.model_validate(trait)
    return out.model_copy(update={
        "rfm_class_label": translate(f"trait.rfm_class.{trait.rfm_class}", language) if trait.rfm_class else None,
        "lifecycle_stage_label": (translate(f"trait.lifecycle_stage.{trait.lifecycle_stage}", language)
                                  if trait.lifecycle_stage else None),
    })


def _settings_out(session, corp_id: int, clock) -> trait_schemas.TraitSettings:
    return trait_schemas.TraitSettings.model_validate(
        trait_repository.ensure_corp_settings(session, corp_id, clock.now()))


@router.get("/trait-settings", response_model=trait_schemas.TraitSettings, dependencies=[require("customers.read")])
def get_trait_settings(session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    settings = trait_repository.corp_settings(session, principal.corp_id)
    if settings is None:
        # Read-only requests do not write: show the defaults a first write would store.
        return trait_schemas.TraitSettings(new_days=30, active_days=90, lost_days=365, rfm_thresholds={},
                                           rfm_refreshed_at=None, value_model={}, value_model_fitted_at=None)
    return trait_schemas.TraitSettings.model_validate(settings)


@router.put("/trait-settings", response_model=trait_schemas.TraitSettings, dependencies=[require("settings.write")])
def put_trait_settings(body: trait_schemas.TraitSettingsUpdate, session: DbSession, principal: CurrentPrincipal,
                       clock: AppClock):
    traits.update_lifecycle_settings(session, principal.corp_id, new_days=body.new_days,
                                     active_days=body.active_days, lost_days=body.lost_days, clock=clock)
    return _settings_out(session, principal.corp_id, clock)


@router.post("/trait-settings/refresh", response_model=trait_schemas.RefreshQueued, status_code=202,
             dependencies=[require("settings.write")])
def refresh_traits(session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    job_ids = [enqueue(session, name, {"corp_id": principal.corp_id}, corp_id=principal.corp_id, clock=clock)
               for name in (REFRESH_SCORES, REFIT_VALUE_MODEL)]
    return trait_schemas.RefreshQueued(job_ids=[job_id for job_id in job_ids if job_id is not None])
