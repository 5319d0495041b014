"""Network work off Blender's main thread, results applied on it.

A job (a plain function with no bpy in it) runs on its own daemon thread; what it returns, or the error it
raised, goes into a queue. A timer on the main thread (bpy.app.timers, `tick`) takes the results out and calls
each job's `done` callback there, the only place where bpy data is touched. The same timer starts the periodic
refresh while a job of the user's is active.
"""

import queue
import threading
import traceback

_results = queue.Queue()
_running = set()
_lock = threading.Lock()


def run(name, work, done):
    """Runs `work()` on a background thread, then `done(result, error)` on the main thread (error is an
    Exception or None). Only one job of each name runs at once: returns False when one already does."""
    with _lock:
        if name in _running:
            return False
        _running.add(name)

    def body():
        result, error = None, None
        try:
            result = work()
        except Exception as e:  # reported on the main thread, where the panel shows it
            error = e
            if not _is_expected(e):
                traceback.print_exc()
        _results.put((name, done, result, error))

    threading.Thread(target=body, name="inferix-" + name, daemon=True).start()
    return True


def busy(name):
    with _lock:
        return name in _running


def apply_results():
    """Main thread: calls the callbacks of every finished job."""
    while True:
        try:
            name, done, result, error = _results.get_nowait()
        except queue.Empty:
            return
        with _lock:
            _running.discard(name)
        try:
            done(result, error)
        except Exception:
            traceback.print_exc()


def _is_expected(e):
    from .client import ApiError

    return isinstance(e, (ApiError, OSError))
