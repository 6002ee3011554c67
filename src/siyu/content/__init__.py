"""The material library (素材库): text, image, link, mini-program, video and file materials.

``siyu.content.service``: ``create_material(session, corp_id, *, kind, title, body, file_name=None,
content=None)``, ``list_materials``, ``get_materials(session, corp_id, ids)``,
``check_attachments(session, corp_id, material_ids, *, text)`` (≤ 9, all of this corp, not deleted),
``media_due(session, corp_id, *, now)`` (materials whose WeCom media id is missing or expires within
the refresh margin) and ``record_media(session, material_id, media_id, *, at)``. The job
``content.refresh_media`` (``siyu.integrations.wecom.media_refresh``) uploads them.
"""
