"""REST: tag groups and tags, customers' tags and their history."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, require
from siyu.kit.errors import NotFound
from siyu.kit.pagination import Page, paginate
from siyu.models.tag import Tag as TagModel
from siyu.models.tag import TagGroup as TagGroupModel
from siyu.models.tag import TagHistory
from siyu.tag import manage, schemas
from siyu.tag import manage_repository as repository
from siyu.tag.wecom_sync import is_pending

router = APIRouter(tags=["tags"])


def _tags_out(session, tags: list[TagModel]) -> list[schemas.Tag]:
    rules = manage.rules_by_tag(session, [tag.id for tag in tags if tag.kind == "rule"])
    return [schemas.Tag.model_validate(tag).model_copy(update={"rule": rules.get(tag.id)}) for tag in tags]


def _group_out(session, group: TagGroupModel, tags: list[TagModel]) -> schemas.TagGroup:
    return schemas.TagGroup(
        id=group.id, name=group.name, order=group.order, wecom_synced=group.wecom_group_id is not None,
        wecom_group_id=None if is_pending(group.wecom_group_id) else group.wecom_group_id,
        tags=_tags_out(session, [tag for tag in tags if tag.group_id == group.id]))


def _draft(body: schemas.TagDraft) -> manage.TagDraft:
    return manage.TagDraft(name=body.name, order=body.order, kind=body.kind, rule=body.rule)


@router.get("/tag-groups", response_model=list[schemas.TagGroup], dependencies=[require("customers.read")])
def list_tag_groups(session: DbSession, principal: CurrentPrincipal):
    tags = repository.live_tags(session, principal)
    return [_group_out(session, group, tags) for group in repository.live_groups(session, principal)]


@router.post("/tag-groups", response_model=schemas.TagGroup, status_code=201, dependencies=[require("tags.write")])
def create_tag_group(body: schemas.TagGroupCreate, session: DbSession, principal: CurrentPrincipal,
                     clock: AppClock):
    group = manage.create_group(session, principal, clock, name=body.name, order=body.order,
                                sync_to_wecom=body.sync_to_wecom, tags=[_draft(t) for t in body.tags])
    return _group_out(session, group, repository.live_tags(session, principal, group_id=group.id))


@router.get("/tag-groups/{group_id}", response_model=schemas.TagGroup, dependencies=[require("customers.read")])
def get_tag_group(group_id: int, session: DbSession, principal: CurrentPrincipal):
    group = repository.get_group(session, principal, group_id)
    if group is None:
        raise NotFound("error.tag_group_not_found")
    return _group_out(session, group, repository.live_tags(session, principal, group_id=group.id))


@router.patch("/tag-groups/{group_id}", response_model=schemas.TagGroup, dependencies=[require("tags.write")])
def update_tag_group(group_id: int, body: schemas.TagGroupUpdate, session: DbSession, principal: CurrentPrincipal,
                     clock: AppClock):
    group = manage.update_group(session, principal, clock, group_id, name=body.name, order=body.order)
    return _group_out(session, group, repository.live_tags(session, principal, group_id=group.id))


@router.get("/tags", response_model=list[schemas.Tag], dependencies=[require("customers.read")])
def list_tags(session: DbSession, principal: CurrentPrincipal, group_id: int | None = None,
              kind: str | None = None):
    return _tags_out(session, repository.live_tags(session, principal, group_id=group_id, kind=kind))


@router.post("/tags", response_model=schemas.Tag, status_code=201, dependencies=[require("tags.write")])
def create_tag(body: schemas.TagCreate, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    tag = manage.create_tag(session, principal, clock, body.group_id, _draft(body))
    return _tags_out(session, [tag])[0]


@router.get("/tags/{tag_id}", response_model=schemas.Tag, dependencies=[require("customers.read")])
def get_tag(tag_id: int, session: DbSession, principal: CurrentPrincipal):
    tag = repository.get_tag(session, principal, tag_id)
    if tag is None:
        raise NotFound("error.tag_not_found")
    return _tags_out(session, [tag])[0]


@router.patch("/tags/{tag_id}", response_model=schemas.Tag, dependencies=[require("tags.write")])
def update_tag(tag_id: int, body: schemas.TagUpdate, session: DbSession, principal: CurrentPrincipal,
               clock: AppClock):
    tag = manage.update_tag(session, principal, clock, tag_id, name=body.name, order=body.order, rule=body.rule)
    return _tags_out(session, [tag])[0]


@router.get("/customers/{customer_id}/tags", response_model=list[schemas.CustomerTag],
            dependencies=[require("customers.read")])
def list_customer_tags(customer_id: int, session: DbSession, principal: CurrentPrincipal):
    return manage.customer_tags(session, principal, customer_id)


@router.post("/customers/{customer_id}/tags/{tag_id}", response_model=schemas.CustomerTag,
             dependencies=[require("customers.write")])
def tag_customer(customer_id: int, tag_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock,
                 response: Response):
    added = manage.tag_customer(session, principal, clock, customer_id, tag_id)
    response.status_code = 201 if added else 200
    return repository.customer_tag(session, customer_id, tag_id)


@router.get("/customers/{customer_id}/tag-history", response_model=Page[schemas.TagHistoryEntry],
            dependencies=[require("customers.read")])
def customer_tag_history(customer_id: int, session: DbSession, principal: CurrentPrincipal,
                         limit: int = Query(50), cursor: str | None = None):
    if repository.visible_customer(session, principal, customer_id) is None:
        raise NotFound("error.customer_not_found")
    rows, next_cursor = paginate(session, repository.history_query(principal, customer_id), TagHistory.id,
                                 limit=limit, cursor=cursor)
    return Page(items=[schemas.TagHistoryEntry.model_validate(r) for r in rows], next_cursor=next_cursor)



# Deletions come last: route order is the order of the OpenAPI document and of the tenancy
# tests' write sweep, which deletes an object only after every other write on it.
@router.delete("/customers/{customer_id}/tags/{tag_id}", status_code=204, dependencies=[require("customers.write")])
def untag_customer(customer_id: int, tag_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    manage.untag_customer(session, principal, clock, customer_id, tag_id)
    return Response(status_code=204)


@router.delete("/tags/{tag_id}", status_code=204, dependencies=[require("tags.write")])
def delete_tag(tag_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    manage.delete_tag(session, principal, clock, tag_id)
    return Response(status_code=204)


@router.delete("/tag-groups/{group_id}", status_code=204, dependencies=[require("tags.write")])
def delete_tag_group(group_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    manage.delete_group(session, principal, clock, group_id)
    return Response(status_code=204)
