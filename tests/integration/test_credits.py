"""Issue #18, the books' first part: the operator grants credits (`inferix admin credits grant`), a user reads
their balance and statement (`inferix credits`, `--json` in integer micro-credits, `--csv`), every grant is in
the audit log, and bad input is refused with a clear error and books nothing."""

import csv
import io
import json
import subprocess
import unittest

from netlib import INFERIX, Network


class CreditsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = Network()
        cls.addClassCleanup(cls.net.cleanup)
        cls.net.start_manager()
        cls.alice = cls.net.user_token("alice", operator=False)
        cls.bob = cls.net.user_token("bob", operator=False)

    def grant(self, *args):
        return subprocess.run([INFERIX, "admin", "credits", "grant", "--data", self.net.manager_dir, *args],
                              capture_output=True, text=True, timeout=60)

    def credits(self, token, *args):
        r = self.net.cli(token, "credits", *args)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def test_a_grant_is_booked_once_shown_to_its_user_only_and_audited(self):
        r = self.grant("--user", "alice", "--amount", "12.5", "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        answer = json.loads(r.stdout)
        self.assertEqual((answer["user"], answer["amount"]), ("alice", 12_500_000))
        self.assertIn("granted 12.5 credits to alice", answer["message"])
        r = self.grant("--user", "alice", "--amount", "0.000001")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("available now 12.500001 credits", r.stdout)

        mine = json.loads(self.credits(self.alice, "--json"))
        self.assertEqual((mine["available"], mine["held"]), (12_500_001, 0))
        self.assertIsInstance(mine["available"], int)
        self.assertEqual([(p["kind"], p["available"]) for p in mine["postings"]],
                         [("grant", 1), ("grant", 12_500_000)])
        self.assertIn("available: 12.500001 credits", self.credits(self.alice))
        rows = list(csv.DictReader(io.StringIO(self.credits(self.alice, "--csv"))))
        self.assertEqual([int(row["available_micro"]) for row in rows], [1, 12_500_000])
        self.assertEqual(rows[0]["memo"], "granted by the operator")

        # Bob sees his own books: nothing of alice's.
        theirs = json.loads(self.credits(self.bob, "--json"))
        self.assertEqual(theirs, {"available": 0, "held": 0, "postings": []})
        self.assertIn("nothing booked yet", self.credits(self.bob))
        status, body = self.net.call("GET", "/api/v1/credits?job=x", self.bob)
        self.assertEqual(status, 400, body)
        status, body = self.net.call("GET", "/api/v1/credits", None)
        self.assertEqual(status, 401, body)

        audit = subprocess.run([INFERIX, "admin", "audit", "--data", self.net.manager_dir, "--json"],
                               capture_output=True, text=True, timeout=60)
        grants = [a for a in json.loads(audit.stdout)["actions"] if a["action"] == "credits.grant"]
        self.assertEqual(sorted(a["detail"] for a in grants), ["micro_credits=1", "micro_credits=12500000"])

    def test_bad_grants_are_refused_and_book_nothing(self):
        for amount in ("0", "-5", "1.0000001", "ten", "1e6", ""):
            r = self.grant("--user", "bob", "--amount", amount)
            self.assertNotEqual(r.returncode, 0, amount)
            self.assertIn("--amount must be a number of credits above zero", r.stdout + r.stderr, amount)
        r = self.grant("--user", "nobody", "--amount", "5", "--json")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no user named 'nobody'", json.loads(r.stdout)["error"]["message"])
        self.assertEqual(json.loads(self.credits(self.bob, "--json"))["available"], 0)


if __name__ == "__main__":
    unittest.main()
