# --- Included by gunicorn.conf.py.j2: plain Python, no template syntax (ruff checks it, and
# roles/flask_app/tests imports it). ---------------------------------------------------------
import os
import signal
import threading
import time


def start_memory_guard(worker, limit_mib, every=5.0):
    """Replace the worker gracefully once its resident memory passes limit_mib.

    A leak guard that costs nothing per request, unlike max_requests, which makes every
    replacement worker import the app again. SIGTERM is Gunicorn's graceful stop for a worker:
    it finishes its request and the master starts a fresh one.
    """
    page = os.sysconf("SC_PAGE_SIZE")

    def watch():
        while True:
            time.sleep(every)
            with open("/proc/self/statm") as statm:
                rss = int(statm.read().split()[1]) * page
            if rss > limit_mib << 20:
                worker.log.warning(
                    "Worker %s uses %d MiB, more than flask_app_worker_max_memory (%d MiB): "
                    "replacing it after its current request",
                    worker.pid,
                    rss >> 20,
                    limit_mib,
                )
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="flask-app-memory-guard", daemon=True).start()
