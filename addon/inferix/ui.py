"""The add-on's preferences, the scene's submit settings and the panel in Render Properties."""

import textwrap

import bpy

from . import background, scene_checks, state
from .client import safe_text
from .state import STATE

STATE_ICONS = {"queued": "SORTTIME", "active": "RENDER_ANIMATION", "completed": "CHECKMARK", "failed": "ERROR",
               "canceled": "CANCEL"}
MAX_THUMBNAILS = 24  # per job in the panel


def _credentials_changed(self, context):
    # Another manager or another user: what the panel showed is someone else's.
    STATE.jobs, STATE.outputs, STATE.settle, STATE.downloads = [], {}, {}, {}
    STATE.refresh_error = ""
    STATE.generation += 1
    STATE.want_refresh = True


class InferixPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    manager_url: bpy.props.StringProperty(
        name="Manager URL", description="Where the Inferix manager answers, e.g. https://render.example.com:8443",
        default="", update=_credentials_changed)
    api_token: bpy.props.StringProperty(
        name="API Token", description="Your API token (from the network's operator: inferix admin token create)",
        default="", subtype="PASSWORD", update=_credentials_changed)

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "manager_url")
        layout.prop(self, "api_token")
        layout.label(text="Submit from Properties > Render > Inferix.", icon="INFO")


def _range_source_changed(self, context):
    if not self.use_scene_range:  # start from the scene's range rather than from nothing
        scene = self.id_data
        self.frame_start, self.frame_end, self.frame_step = scene.frame_start, scene.frame_end, scene.frame_step


class InferixSceneSettings(bpy.types.PropertyGroup):
    use_scene_range: bpy.props.BoolProperty(
        name="Scene Frame Range", description="Render the scene's frame range (Output Properties > Frame Range)",
        default=True, update=_range_source_changed)
    frame_start: bpy.props.IntProperty(name="Start", default=1, min=-1048574, max=1048574)
    frame_end: bpy.props.IntProperty(name="End", default=250, min=-1048574, max=1048574)
    frame_step: bpy.props.IntProperty(name="Step", default=1, min=1, max=1000)
    file_format: bpy.props.EnumProperty(
        name="Format", description="The image format of the delivered frames",
        items=[("SCENE", "Scene's", "The scene's own format when it is PNG, OpenEXR or JPEG, otherwise PNG"),
               ("PNG", "PNG", "PNG, as the scene sets its colour mode and depth"),
               ("EXR", "OpenEXR", "OpenEXR (half float unless the scene chose OpenEXR)"),
               ("JPEG", "JPEG", "JPEG")],
        default="SCENE")
    job_name: bpy.props.StringProperty(name="Job Name", description="Empty: the file's name", default="")
    chunk_size: bpy.props.IntProperty(name="Frames per Task", description="Frames a worker renders in one task",
                                      default=4, min=1, max=1000)
    without_denoiser: bpy.props.BoolProperty(
        name="Render without denoiser",
        description="When the scene asks for denoising and no worker has its denoiser (OpenImageDenoise, OptiX), "
                    "render every frame with denoising off instead of refusing the job",
        default=False)


def wrapped(layout, text, icon="NONE", width=60):
    """A long message as several labels (Blender's labels do not wrap)."""
    lines = textwrap.wrap(safe_text(text, 2000), width=max(20, width)) or [""]
    col = layout.column(align=True)
    for i, line in enumerate(lines):
        col.label(text=line, icon=icon if i == 0 else "BLANK1")


class RENDER_PT_inferix(bpy.types.Panel):
    bl_label = "Inferix"
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "render"
    bl_order = 0

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        settings = scene.inferix
        chars = int(context.region.width / (7.5 * context.preferences.system.ui_scale)) - 6
        prefs = state.preferences(context)
        if prefs is None or not prefs.manager_url or not prefs.api_token:
            wrapped(layout, "Set the manager URL and your API token in Edit > Preferences > Add-ons > Inferix.",
                    "ERROR", chars)

        col = layout.column()
        col.use_property_split = True
        col.use_property_decorate = False
        col.prop(settings, "use_scene_range")
        # The range to render: the scene's own (shown, greyed) or the panel's.
        sub = col.column(align=True)
        source = scene if settings.use_scene_range else settings
        sub.enabled = not settings.use_scene_range
        sub.prop(source, "frame_start", text="Frame Start")
        sub.prop(source, "frame_end", text="End")
        sub.prop(source, "frame_step", text="Step")
        col.prop(settings, "file_format")
        col.prop(settings, "job_name")
        col.prop(settings, "chunk_size")
        if scene_checks.denoisers_needed(scene):  # only where it means something
            col.prop(settings, "without_denoiser")
        row = layout.row(align=True)
        row.scale_y = 1.4
        row.enabled = not STATE.submitting
        row.operator("inferix.submit", text="Submitting..." if STATE.submitting else "Submit", icon="EXPORT")
        row.operator("inferix.refresh", text="", icon="FILE_REFRESH")

        if STATE.status:
            wrapped(layout, STATE.status, STATE.status_icon, chars)
        if STATE.problems:
            box = layout.box()
            box.label(text="Preflight", icon="VIEWZOOM")
            for p in STATE.problems:
                wrapped(box, "[%s] %s" % (p["code"], p["message"]), "ERROR" if p["fatal"] else "INFO", chars - 2)
        if STATE.refresh_error:
            wrapped(layout, STATE.refresh_error, "ERROR", chars)

        if not STATE.jobs:
            layout.label(text="No jobs yet" if STATE.refreshed else "Loading jobs...", icon="INFO")
        for job in STATE.jobs:
            self.draw_job(layout, job, chars)

    def draw_job(self, layout, job, chars):
        box = layout.box()
        p = job.get("progress", {})
        total, delivered = p.get("total", 0), p.get("delivered", 0)
        row = box.row()
        row.label(text="#%d %s" % (job["id"], safe_text(job["name"])), icon=STATE_ICONS.get(job["state"], "QUESTION"))
        eta = p.get("eta_s")
        row.label(text="%s  %d/%d delivered%s" % (safe_text(job["state"], 40), delivered, total,
                                                  "  ~%d s left" % eta if eta and job["state"] == "active" else ""))
        sub = row.row()
        sub.enabled = delivered > 0 and not background.busy("download-%d" % job["id"])
        sub.operator("inferix.download", text="Download", icon="IMPORT").job_id = job["id"]
        busy = ["%d %s" % (p.get(k, 0), k) for k in ("rendering", "verifying", "queued", "failed", "canceled")
                if p.get(k, 0)]
        outs = state.STATE.outputs.get(job["id"], {})
        video = outs.get("video", "none")
        line = ", ".join(busy) if busy else ""
        if video != "none":
            line += ("; " if line else "") + "video " + video
        if line:
            box.label(text=line)
        if job.get("message"):
            wrapped(box, job["message"], "ERROR", chars - 2)

        shown = outs.get("outputs", [])[:MAX_THUMBNAILS]
        if shown:
            columns = max(1, min(len(shown), chars // 14))
            grid = box.grid_flow(row_major=True, columns=columns, even_columns=True, even_rows=True, align=True)
            for out in shown:
                cell = grid.column(align=True)
                icon = state.thumbnail(out["sha256"])
                if icon:
                    cell.template_icon(icon_value=icon, scale=5.0)
                else:
                    cell.label(text="", icon="IMAGE_DATA")
                verdict = out.get("verdict", "")
                caption = cell.row()
                caption.alignment = "CENTER"
                caption.label(text="%d %s" % (out["frame"], safe_text(verdict, 40)), icon="ERROR" if verdict == "rejected" else "NONE")
            more = len(outs.get("outputs", [])) - len(shown)
            if more > 0:
                box.label(text="and %d more frames" % more)
        download = STATE.downloads.get(job["id"])
        if download:
            icon = {"running": "IMPORT", "done": "CHECKMARK", "failed": "ERROR"}[download["state"]]
            wrapped(box, download["message"], icon, chars - 2)


classes = (InferixPreferences, InferixSceneSettings, RENDER_PT_inferix)


def register():
    bpy.types.Scene.inferix = bpy.props.PointerProperty(type=InferixSceneSettings)


def unregister():
    del bpy.types.Scene.inferix
