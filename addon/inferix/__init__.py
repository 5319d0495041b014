"""Inferix: submit the open scene to an Inferix render network and follow its jobs, from Blender.

Preferences (Edit > Preferences > Add-ons > Inferix): the manager's URL and your API token.
Panel: Properties > Render > Inferix. Operators for scripts: inferix.submit, inferix.refresh,
inferix.download(job_id=N). Standard library only. Docs: docs/addon.md in the Inferix repository.
"""

bl_info = {
    "name": "Inferix",
    "author": "Inferix",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "Properties > Render > Inferix",
    "description": "Render on an Inferix network: submit the scene, follow its jobs, download the frames",
    "category": "Render",
}

import bpy  # noqa: E402

from . import operators, state, ui  # noqa: E402

_classes = ui.classes + operators.classes


def register():
    for cls in _classes:
        bpy.utils.register_class(cls)
    ui.register()
    state.register()


def unregister():
    state.unregister()
    ui.unregister()
    for cls in reversed(_classes):
        bpy.utils.unregister_class(cls)
