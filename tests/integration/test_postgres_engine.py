"""Issue #15: the PostgreSQL of the tests, as the `postgres` ctest fixture starts it (tests/engines/engines.py).

psql connects through the URL of the JSON file that $INFERIX_TEST_POSTGRES names; the server restarts through its
`restart_cmd` and keeps what was committed; and a private server of the same harness stops leaving no process.
The restart disconnects every client of the shared server: ctest runs this test alone (RUN_SERIAL).
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engines"))
import engines  # noqa: E402  pylint: disable=wrong-import-position


def psql(url, sql):
    return subprocess.run(["psql", url, "-X", "-v", "ON_ERROR_STOP=1", "-Atc", sql], capture_output=True,
                          text=True, timeout=60, check=False)


class PostgresEngineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = os.environ.get("INFERIX_TEST_POSTGRES")
        if not cls.path:
            raise unittest.SkipTest("set INFERIX_TEST_POSTGRES to a postgres.json of tests/engines/engines.py "
                                    "(ctest's `postgres` fixture does)")
        with open(cls.path, encoding="utf-8") as f:
            cls.info = json.load(f)

    def test_superuser_inferix_on_127_0_0_1(self):
        self.assertTrue(self.info["url"].startswith("postgresql://inferix@127.0.0.1:"), self.info)
        r = psql(self.info["url"], "SELECT current_user, rolsuper, inet_server_addr() FROM pg_roles "
                                   "WHERE rolname = current_user")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "inferix|t|127.0.0.1")

    def test_restart_cmd_restarts_and_keeps_committed_rows(self):
        db = "engine_" + uuid.uuid4().hex[:12]
        r = psql(self.info["url"], f"CREATE DATABASE {db}")
        self.assertEqual(r.returncode, 0, r.stderr)
        url = self.info["url"].rsplit("/", 1)[0] + "/" + db
        r = psql(url, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('kept')")
        self.assertEqual(r.returncode, 0, r.stderr)
        before = psql(url, "SELECT pg_postmaster_start_time()").stdout

        self.assertEqual(subprocess.run(self.info["restart_cmd"], shell=True, check=False).returncode, 0)

        r = psql(url, "SELECT v FROM t")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "kept")
        self.assertNotEqual(psql(url, "SELECT pg_postmaster_start_time()").stdout, before)
        with open(self.path, encoding="utf-8") as f:
            pid = json.load(f)["pid"]
        self.assertTrue(engines.alive(pid))
        self.assertEqual(psql(self.info["url"], f"DROP DATABASE {db}").returncode, 0)

    def test_private_server_stops_leaving_no_process(self):
        with tempfile.TemporaryDirectory(prefix="inferix-engine-") as folder:
            info = engines.start_postgres(os.path.join(folder, "pg"))
            self.assertEqual(psql(info["url"], "SELECT 1").stdout.strip(), "1")
            engines.stop(os.path.join(folder, "pg"))
            self.assertFalse(engines.alive(info["pid"]))
            self.assertEqual(psql(info["url"], "SELECT 1").returncode, 2)  # 2: no connection
            self.assertFalse(os.path.exists(os.path.join(folder, "pg", "state.json")))


if __name__ == "__main__":
    unittest.main()
