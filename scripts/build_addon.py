"""Builds the Blender add-on zip (make addon): addon/inferix/ plus the scene checks it shares with the render
driver (src/render/blender/scene_checks.py), as one package folder `inferix/` in the zip, which Blender's
Edit > Preferences > Add-ons > Install... takes as it is.

    python3 scripts/build_addon.py [OUT.zip]      (default: build/inferix-addon.zip)
"""

import os
import sys
import zipfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
PACKAGE = os.path.join(ROOT, "addon", "inferix")
SHARED = [os.path.join(ROOT, "src", "render", "blender", "scene_checks.py")]


def build(out):
    files = []
    for name in sorted(os.listdir(PACKAGE)):
        if name.endswith(".py"):
            files.append((os.path.join(PACKAGE, name), "inferix/" + name))
    for path in SHARED:
        files.append((path, "inferix/" + os.path.basename(path)))
    names = [arc for _, arc in files]
    if len(names) != len(set(names)):
        raise SystemExit("build_addon: a file of addon/inferix has the name of a shared module")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for path, arc in files:
            # A fixed date: the same sources give the same zip.
            info = zipfile.ZipInfo(arc, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with open(path, "rb") as f:
                z.writestr(info, f.read())
    os.replace(tmp, out)
    return out


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "inferix-addon.zip")))
