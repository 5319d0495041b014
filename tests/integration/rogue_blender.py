#!/usr/bin/python3
"""A cheating worker's Blender, for tests only: renders for real, then alters every saved frame before the worker
sees it, so the worker uploads and reports a plausible wrong image (same size, format and bit depth: it passes
layer 1). It speaks the real driver protocol: events pass through file descriptor 3 unchanged."""

import json
import os
import subprocess
import sys

read_fd, write_fd = os.pipe()


def child_setup():
    os.dup2(write_fd, 3)


blender = subprocess.Popen(["/usr/bin/blender"] + sys.argv[1:], preexec_fn=child_setup, close_fds=False)
os.close(write_fd)
events_out = os.fdopen(3, "w", buffering=1)
with os.fdopen(read_fd, "r") as events_in:
    for line in events_in:
        try:
            event = json.loads(line)
        except ValueError:
            event = {}
        if event.get("event") == "frame_saved":
            path = event["path"]
            # Brighten the picture by 8%: plainly wrong, yet the right size, channels and format.
            tmp = path + ".rogue" + os.path.splitext(path)[1]
            subprocess.run(["oiiotool", path, "--mulc", "1.08", "-o", tmp], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            os.replace(tmp, path)
        events_out.write(line)
        events_out.flush()
sys.exit(blender.wait())
