"""Issue #15: the RADOS Gateway of the tests checks S3 signatures for real, so a signer bug cannot pass.

boto3 (Debian's python3-boto3) is the independent client: it signs, and the gateway of the `s3` ctest fixture
(tests/engines/engines.py, described by the JSON file that $INFERIX_TEST_S3 names) must refuse whatever is signed
wrong. Every refusal is checked beside the same request signed right, which must pass.
"""

import json
import os
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engines"))
import engines  # noqa: E402  pylint: disable=wrong-import-position


def http_get(url):
    """(status, body) of a plain GET, with no signing of its own."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def change_signature(url):
    """The presigned URL with one character of its X-Amz-Signature changed."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    changed = []
    for key, value in query:
        if key == "X-Amz-Signature":
            value = value[:-1] + ("0" if value[-1] != "0" else "1")
        changed.append((key, value))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(changed)))


class S3EngineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        path = os.environ.get("INFERIX_TEST_S3")
        if not path:
            raise unittest.SkipTest("set INFERIX_TEST_S3 to an s3.json of tests/engines/engines.py "
                                    "(ctest's `s3` fixture does)")
        with open(path, encoding="utf-8") as f:
            cls.info = json.load(f)
        cls.bucket = cls.info["bucket"]
        cls.s3 = engines.s3_client(cls.info)

    @classmethod
    def tearDownClass(cls):
        cls.s3.close()

    def key(self):
        return f"test_s3_engine/{uuid.uuid4().hex}"

    def assertRefused(self, call):
        import botocore.exceptions  # pylint: disable=import-outside-toplevel

        with self.assertRaises(botocore.exceptions.ClientError) as refused:
            call()
        self.assertEqual(refused.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403,
                         refused.exception.response)
        return refused.exception.response["Error"]["Code"]

    def test_put_then_get_returns_the_bytes(self):
        key = self.key()
        body = os.urandom(100_000)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read(), body)
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=key)
        self.assertEqual([o["Key"] for o in listed["Contents"]], [key])

    def test_wrong_secret_key_is_refused(self):
        key = self.key()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"right")
        wrong = engines.s3_client(self.info, secret_key=self.info["secret_key"][:-1] + "x")
        self.addCleanup(wrong.close)
        self.assertEqual(self.assertRefused(lambda: wrong.get_object(Bucket=self.bucket, Key=key)),
                         "SignatureDoesNotMatch")
        self.assertRefused(lambda: wrong.put_object(Bucket=self.bucket, Key=key, Body=b"overwritten"))
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read(), b"right")

    def test_unsigned_request_is_refused(self):
        key = self.key()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"private")
        status, _ = http_get(f"{self.info['endpoint']}/{self.bucket}/{key}")
        self.assertEqual(status, 403)

    def test_presigned_get_with_one_signature_character_changed_is_refused(self):
        key = self.key()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"presigned")
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                             ExpiresIn=600)
        self.assertIn("X-Amz-Signature=", url)
        self.assertEqual(http_get(url), (200, b"presigned"))
        changed = change_signature(url)
        self.assertNotEqual(changed, url)
        status, _ = http_get(changed)
        self.assertEqual(status, 403)

    def test_expired_presigned_url_is_refused(self):
        key = self.key()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"short-lived")
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                             ExpiresIn=1)
        time.sleep(2.5)
        status, _ = http_get(url)
        self.assertEqual(status, 403)


if __name__ == "__main__":
    unittest.main()
