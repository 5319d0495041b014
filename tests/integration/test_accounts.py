"""Issue #14, quotas and roles: priority above the default only for users the operator allows, per-user limits
on stored bytes, active jobs and frames, user tokens that can be listed, expired and revoked, node details for
operators only, and an audit log of admin actions. The manager is real, on 127.0.0.1, without workers: what is
checked here is decided when a request arrives."""

import hashlib
import json
import os
import time
import unittest

from netlib import Network

QUOTA_BYTES = 4096


class AccountsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = Network()
        cls.addClassCleanup(cls.net.cleanup)
        cls.net.start_manager(extra=("--quota-stored-bytes", str(QUOTA_BYTES), "--quota-active-jobs", "2",
                                     "--quota-frames-per-job", "50", "--quota-frames-in-flight", "80"))

    def plain(self, name):
        return self.net.user_token(name, operator=False)

    def upload(self, token, data):
        sha = hashlib.sha256(data).hexdigest()
        return sha, self.net.call("PUT", "/api/v1/files/" + sha, token, body=data)

    def scene(self, token, size=64):
        sha, (status, body) = self.upload(token, b"BLENDER-v304" + os.urandom(size - 12))
        self.assertEqual(status, 201, body)
        return sha

    def submit(self, token, sha, **fields):
        body = {"name": "n", "main": "shot.blend", "frames": "1-3", "files": [{"path": "shot.blend", "sha256": sha}]}
        body.update(fields)
        return self.net.call("POST", "/api/v1/jobs", token, body=body)

    def refused(self, answer, status, *words):
        got, body = answer
        self.assertEqual(got, status, body)
        for w in words:
            self.assertIn(w, body["error"]["message"])
        return body

    def admin_json(self, *args):
        return json.loads(self.net.admin(*args, "--json"))

    def test_plain_user_cannot_raise_priority(self):
        token = self.plain("pia")
        sha = self.scene(token)
        self.refused(self.submit(token, sha, priority=1), 403, "priority 1 is above the highest you may give, 0",
                     "ask the operator")
        self.assertEqual(self.net.call("GET", "/api/v1/jobs", token)[1]["jobs"], [])  # nothing was created
        status, job = self.submit(token, sha, priority=-5)  # lower than the default is anyone's to give
        self.assertEqual((status, job.get("priority")), (201, -5), job)

    def test_operator_may_allow_priority(self):
        token = self.plain("quinn")
        sha = self.scene(token)
        self.net.admin("user", "set", "--user", "quinn", "--max-priority", "5")
        status, job = self.submit(token, sha, priority=5)
        self.assertEqual((status, job.get("priority")), (201, 5), job)
        self.refused(self.submit(token, sha, priority=6), 403, "highest you may give, 5")
        # An operator gives any priority.
        boss = self.net.user_token("boss")
        status, job = self.submit(boss, self.scene(boss), priority=1000)
        self.assertEqual((status, job.get("priority")), (201, 1000), job)
        # Back to the default: refused again.
        self.net.admin("user", "set", "--user", "quinn", "--max-priority", "default")
        self.refused(self.submit(token, sha, priority=1), 403, "highest you may give, 0")

    def test_scene_over_quota_is_refused(self):
        token = self.plain("rita")
        content = b"BLENDER-v304" + os.urandom(3000 - 12)
        big, (status, _) = self.upload(token, content)
        self.assertEqual(status, 201)
        sha, answer = self.upload(token, b"BLENDER-v304" + os.urandom(2000))
        self.refused(answer, 403, "stored-bytes quota of 4.0 KiB", "use 2.9 KiB already", "nothing was stored")
        status, body = self.net.call("POST", "/api/v1/files/check", token, body={"sha256": [sha, big]})
        self.assertEqual((status, body["missing"]), (200, [sha]))  # the refused file was not kept
        # A file the user has already costs nothing; another user's usage is their own.
        self.assertEqual(self.upload(token, content)[1][0], 201)
        other = self.plain("sam")
        self.scene(other, 3000)
        # The operator raises rita's quota: the same upload goes through.
        self.net.admin("user", "set", "--user", "rita", "--quota-stored-bytes", "10000")
        _, (status, body) = self.upload(token, b"BLENDER-v304" + os.urandom(2000))
        self.assertEqual(status, 201, body)

    def test_job_past_a_limit_is_refused_at_submit(self):
        token = self.plain("tom")
        sha = self.scene(token)
        self.refused(self.submit(token, sha, frames="1-51"), 403, "51 frames", "limit of 50 frames per job")
        self.assertEqual(self.submit(token, sha, frames="1-50")[0], 201)
        self.refused(self.submit(token, sha, frames="1-31"), 403, "limit of frames in flight, 80")
        self.assertEqual(self.submit(token, sha, frames="1-30")[0], 201)
        self.refused(self.submit(token, sha, frames="1"), 403, "the limit of active jobs is 2")
        # A job that ends frees its share.
        jobs = self.net.call("GET", "/api/v1/jobs", token)[1]["jobs"]
        self.assertEqual(self.net.call("POST", "/api/v1/jobs/%d/cancel" % jobs[0]["id"], token, body={})[0], 200)
        self.assertEqual(self.submit(token, sha, frames="1")[0], 201)

    def test_whoami_tells_role_limits_and_usage(self):
        token = self.plain("uma")
        self.scene(token, 100)
        status, me = self.net.call("GET", "/api/v1/whoami", token)
        self.assertEqual(status, 200, me)
        self.assertEqual(me["role"], "user")
        self.assertEqual(me["limits"], {"max_priority": 0, "stored_bytes": QUOTA_BYTES, "active_jobs": 2,
                                        "frames_per_job": 50, "frames_in_flight": 80})
        self.assertEqual(me["usage"], {"stored_bytes": 100, "active_jobs": 0, "frames_in_flight": 0})

    def test_revoked_token_is_refused(self):
        token = self.net.admin("token", "create", "--user", "vic", "--label", "laptop")
        self.assertEqual(self.net.call("GET", "/api/v1/whoami", token)[0], 200)
        listed = self.admin_json("token", "list", "--user", "vic")["tokens"]
        self.assertEqual(len(listed), 1)
        t = listed[0]
        self.assertEqual((t["label"], t["state"], t["expires_ms"], t["revoked_ms"]), ("laptop", "live", 0, 0))
        self.assertGreater(t["last_used_ms"], 0)  # its use was recorded
        self.assertGreater(t["created_ms"], 0)
        self.assertNotIn(token, json.dumps(listed))  # never the secret
        self.assertNotIn(hashlib.sha256(token.encode()).hexdigest(), json.dumps(listed))
        # A second token of the same user keeps working after the first is revoked.
        second = self.net.admin("token", "create", "--user", "vic")
        self.net.admin("token", "revoke", "--id", str(t["id"]))
        body = self.refused(self.net.call("GET", "/api/v1/whoami", token), 401, "revoked", "ask the operator")
        self.assertEqual(body["error"]["code"], "unauthenticated")
        self.refused(self.net.call("POST", "/api/v1/session", body={"token": token}), 401, "revoked")
        self.assertEqual(self.net.call("GET", "/api/v1/whoami", second)[0], 200)
        self.assertEqual([x["state"] for x in self.admin_json("token", "list", "--user", "vic")["tokens"]],
                         ["revoked", "live"])

    def test_expired_token_is_refused(self):
        token = self.net.admin("token", "create", "--user", "wes", "--expires-in", "2")
        self.assertEqual(self.net.call("GET", "/api/v1/whoami", token)[0], 200)
        time.sleep(2.5)
        self.refused(self.net.call("GET", "/api/v1/whoami", token), 401, "expired", "ask the operator")
        self.refused(self.net.call("POST", "/api/v1/session", body={"token": token}), 401, "expired")
        self.assertEqual(self.admin_json("token", "list", "--user", "wes")["tokens"][0]["state"], "expired")

    def test_plain_user_sees_no_node_details(self):
        status, node = self.net.call("POST", "/api/v1/nodes/register", body={
            "enrollment_token": self.net.enroll("worker"), "name": "render-host-17.example.org", "role": "worker",
            "public_key": "ab" * 32, "capabilities": {
                "cpu_model": "Secret CPU 9000", "cpu_threads": 64, "memory_bytes": 1 << 37, "arch": "x86_64",
                "gpus": [{"name": "Secret GPU", "memory": "48 GiB"}], "blender_version": "4.2.0",
                "blenders": [{"version": "4.2.0", "denoisers": ["OPENIMAGEDENOISE"]}]}})
        self.assertEqual(status, 201, node)
        self.net.admin("node", "revoke", "--node", str(node["node_id"]), "--reason", "owner cheated on checks")
        plain = self.plain("xena")
        status, body = self.net.call("GET", "/api/v1/workers", plain)
        self.assertEqual(status, 200, body)
        seen = [n for n in body["nodes"] if n["id"] == node["node_id"]][0]
        text = json.dumps(body)
        for secret in ("render-host-17", "Secret CPU", "Secret GPU", "x86_64", "owner cheated", "last_seen_ms",
                       "check_rate", "streak", "ban_reason", "accepted"):
            self.assertNotIn(secret, text)
        # What a plain user needs: the node's state and the Blender builds to check a scene against.
        self.assertEqual((seen["role"], seen["state"], seen["banned"], seen["details"]), ("worker", "banned", True,
                                                                                          False))
        self.assertEqual(seen["capabilities"], {"blender_version": "4.2.0", "blenders": [
            {"version": "4.2.0", "denoisers": ["OPENIMAGEDENOISE"]}]})
        # An operator sees everything.
        status, body = self.net.call("GET", "/api/v1/workers", self.net.user_token("ops"))
        full = [n for n in body["nodes"] if n["id"] == node["node_id"]][0]
        self.assertEqual((full["name"], full["capabilities"]["cpu_model"], full["details"]),
                         ("render-host-17.example.org", "Secret CPU 9000", True))
        self.assertIn("owner cheated on checks", full["ban_reason"])
        self.assertIn("check_rate", full)
        self.assertIn("last_seen_ms", full)
        # The operator makes the plain user an operator: from the next request on, they see everything.
        self.net.admin("user", "set", "--user", "xena", "--role", "operator")
        status, body = self.net.call("GET", "/api/v1/workers", plain)
        self.assertIn("render-host-17", json.dumps(body))
        self.assertEqual(self.net.call("GET", "/api/v1/whoami", plain)[1]["role"], "operator")

    def test_admin_actions_are_audited(self):
        token = self.net.admin("token", "create", "--user", "yan", "--label", "ci")
        self.net.call("GET", "/api/v1/whoami", token)
        tid = self.admin_json("token", "list", "--user", "yan")["tokens"][0]["id"]
        self.net.admin("user", "set", "--user", "yan", "--quota-active-jobs", "7", "--max-priority", "3")
        self.net.admin("user", "set", "--user", "yan", "--role", "operator")
        self.net.admin("token", "revoke", "--id", str(tid))
        status, node = self.net.call("POST", "/api/v1/nodes/register", body={
            "enrollment_token": self.net.enroll("worker"), "name": "audited-node", "role": "worker",
            "public_key": "cd" * 32, "capabilities": {}})
        self.assertEqual(status, 201, node)
        self.net.admin("node", "revoke", "--node", "audited-node", "--reason", "stolen")
        audit = self.admin_json("audit", "--limit", "1000")
        actions = [(a["action"], a["target"], a["detail"]) for a in audit["actions"]]
        for expected in (("user.created", "user yan", "role=user"),
                         ("token.created", "token %d of yan" % tid, None),
                         ("user.limits", "user yan", "max-priority=3 quota-active-jobs=7"),
                         ("user.role", "user yan", "role=operator"),
                         ("token.revoked", "token %d" % tid, ""),
                         ("node.revoked", "node %d (audited-node)" % node["node_id"], "stolen")):
            self.assertTrue(any(a[:2] == expected[:2] and (expected[2] is None or a[2] == expected[2])
                                for a in actions), (expected, actions))
        self.assertTrue(all(a["actor"].startswith("admin:") and a["created_ms"] > 0 for a in audit["actions"]))
        # Newest first; token use: the last use of each token.
        ids = [a["id"] for a in audit["actions"]]
        self.assertEqual(ids, sorted(ids, reverse=True))
        used = [t for t in audit["tokens"] if t["id"] == tid][0]
        self.assertGreater(used["last_used_ms"], 0)
        # The text form for people says the same.
        text = self.net.admin("audit")
        self.assertIn("token.revoked", text)
        self.assertIn("token use:", text)


class DefaultLimitsTest(unittest.TestCase):
    def test_huge_job_is_refused_by_default(self):
        # A job of 100,000 one-frame tasks stalled every request for seconds: by default a job holds at most
        # 10,000 frames, and the default user keeps the priority default.
        net = Network()
        self.addCleanup(net.cleanup)
        net.start_manager()
        token = net.user_token("zoe", operator=False)
        data = b"BLENDER-v304" + os.urandom(32)
        sha = hashlib.sha256(data).hexdigest()
        self.assertEqual(net.call("PUT", "/api/v1/files/" + sha, token, body=data)[0], 201)
        body = {"name": "n", "main": "shot.blend", "frames": "1-100000", "chunk_size": 1,
                "files": [{"path": "shot.blend", "sha256": sha}]}
        status, answer = net.call("POST", "/api/v1/jobs", token, body=body)
        self.assertEqual(status, 403, answer)
        self.assertIn("limit of 10000 frames per job", answer["error"]["message"])
        status, _ = net.call("POST", "/api/v1/jobs", token, body=dict(body, frames="1-10000"))
        self.assertEqual(status, 201)


if __name__ == "__main__":
    unittest.main()
