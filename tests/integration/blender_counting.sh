#!/bin/sh
# Test wrapper for --blender: marks each Blender start in Blender's own log (stderr), then runs the real one.
echo "INFERIX-TEST-BLENDER-START $$" >&2
exec /usr/bin/blender "$@"
