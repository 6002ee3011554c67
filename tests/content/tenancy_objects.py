"""What ``tests/test_tenancy.py`` needs to cover the material, message-template and moments routes:
the tables their id fields name, the tables behind their responses, and one object of each per corp."""

from __future__ import annotations

from siyu.models.message import Material, MaterialKind, MessageTemplate
from siyu.models.moment import MomentStatus, MomentTask

#: (``message_template_id``: ``template_id`` names a coupon template, see tests/loyalty)
REFERENCES = {"message_template_id": MessageTemplate, "moment_task_id": MomentTask}
ITEM_TABLES = {"MaterialOut": Material, "TemplateOut": MessageTemplate, "TemplatePreview": None,
               "MomentOut": MomentTask}


def content_objects(session, brand) -> dict[str, int]:
    """A text material, a template and a moment task (already created in WeCom) of ``brand``."""
    material = Material(corp_id=brand.corp_id, kind=MaterialKind.text, title="欢迎语", body={"content": "您好"})
    session.add(material)
    session.flush()
    template = MessageTemplate(corp_id=brand.corp_id, name="回访", text="{customer_name} 您好",
                               material_ids=[material.id])
    task = MomentTask(corp_id=brand.corp_id, text="新品上架", status=MomentStatus.publishing,
                      jobid=f"job-{brand.slug}", moment_id=f"moment-{brand.slug}")
    session.add_all([template, task])
    session.flush()
    return {"message_template_id": template.id, "moment_task_id": task.id}
