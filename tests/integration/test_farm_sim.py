"""Issue #16: the farm simulator (bench/farm_sim.py) against the real manager: a short run of about 200 simulated
workers and 2 verifiers speaking the real node protocol (zero-length renders, some rejections), and a short run
with --chaos on one SQLite manager (workers vanish mid-task; their leases expire and their tasks go to others).
Every frame of every finished job is delivered exactly once, none is lost, no task is leased to two nodes at
once, and nothing unexpected happened."""

import json
import os
import shutil
import subprocess
import sys
import unittest

from netlib import INFERIX, SOURCE_DIR

FARM_SIM = os.path.join(SOURCE_DIR, "bench", "farm_sim.py")


class FarmSimTest(unittest.TestCase):
    def simulate(self, *args, timeout=240):
        cmd = [sys.executable, FARM_SIM, "--inferix", shutil.which(INFERIX) or INFERIX, *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        lines = p.stdout.strip().splitlines()
        self.assertTrue(lines, "farm_sim printed nothing; stderr:\n" + p.stderr[-4000:])
        result = json.loads(lines[-1])
        context = "exit %d; result %s\nstderr:\n%s" % (p.returncode, json.dumps(result)[:3000], p.stderr[-4000:])
        return p.returncode, result, context

    def assert_exactly_once(self, rc, result, context):
        self.assertEqual(result.get("lost"), 0, context)
        self.assertEqual(result.get("duplicated"), 0, context)
        self.assertEqual(result.get("double_leases"), 0, context)
        self.assertEqual(result.get("errors"), 0, context)
        self.assertGreater(result.get("frames_delivered", 0), 0, context)
        self.assertGreater(result.get("tasks_per_s", 0), 0, context)
        self.assertEqual(rc, 0, context)
        self.assertTrue(result.get("ok"), context)

    def test_two_hundred_workers(self):
        rc, result, context = self.simulate("--workers", "200", "--verifiers", "2", "--seconds", "20",
                                            "--render-ms", "0", "--reject-rate", "0.03", "--drain", "8")
        self.assert_exactly_once(rc, result, context)
        self.assertEqual(result["workers"], 200)
        self.assertGreater(result["rejected"], 0, context)
        self.assertIsNotNone(result["idle_to_busy_p50_ms"], context)
        self.assertTrue(result["manager_rss_mib"] and result["manager_rss_mib"][0]["peak"] > 0, context)

    def test_chaos_on_one_manager(self):
        rc, result, context = self.simulate("--workers", "60", "--verifiers", "2", "--seconds", "15",
                                            "--render-ms", "uniform:50:300", "--chaos", "--chaos-kill", "0.2",
                                            "--lease-ms", "2500", "--heartbeat-ms", "800", "--drain", "12")
        self.assert_exactly_once(rc, result, context)
        self.assertGreater(result["vanished_workers"], 0, context)


if __name__ == "__main__":
    unittest.main()
