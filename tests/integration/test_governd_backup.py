#!/usr/bin/python3
"""governd backup (docs/operations.md#backup-and-restore): an online copy of
the store taken while producers and an operator write to a running
governd; the copy is one consistent snapshot (its decisions lie between
what was acknowledged before and after it was taken, the audit chain of a
governd restored from it verifies with vcli, its counts match), and a copy
taken once writes stop equals the live store.  Bad usage and failures exit
with the documented status and leave nothing behind."""

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

from harness import (  # noqa: E402
    GOVERND, SLOW, VCLI, Gov, Governd, governd_env, run_main)


def backup(*args, timeout=120):
    return subprocess.run([GOVERND, "backup"] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout,
                          env=governd_env())


def counts(path):
    """(decisions, resolutions, audit entries) in a database file, read-only."""
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return tuple(db.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                     for t in ("decisions", "resolutions", "audit"))
    finally:
        db.close()


class Writers:
    """Producers submitting and one operator approving, until stop()."""

    def __init__(self, gd, producers=3):
        self.gd = gd
        self.acked = 0          # submissions answered OK
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.errors = []
        self.threads = [threading.Thread(target=self.produce, daemon=True)
                        for _ in range(producers)]
        self.threads.append(threading.Thread(target=self.review, daemon=True))
        for t in self.threads:
            t.start()

    def produce(self):
        g = Gov.connect(self.gd)
        try:
            while not self.stop_ev.is_set():
                g.submit(key=uuid.uuid4().hex)
                with self.lock:
                    self.acked += 1
        except grpc.RpcError as e:
            self.errors.append(e)
        finally:
            g.close()

    def review(self):
        g = Gov.connect(self.gd)
        try:
            sid = g.session("alice")
            while not self.stop_ev.is_set():
                for d in g.list(limit=20).decisions:
                    g.approve(sid, d.decision_id, comment="ok")
                time.sleep(0.01)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.FAILED_PRECONDITION:
                self.errors.append(e)
        finally:
            g.close()

    def count(self):
        with self.lock:
            return self.acked

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(60)


class Backup(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vcli-itest-backup-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_backup_during_writes_restores_and_verifies(self):
        gd = Governd(name="backup-live", db=True, log_level="info")
        self.addCleanup(gd.cleanup)
        gd.start()
        w = Writers(gd)
        self.addCleanup(w.stop)
        # Let the store grow a little first.
        deadline = time.monotonic() + 30 * SLOW
        while w.count() < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertGreaterEqual(w.count(), 200, w.errors)

        snaps = []
        for i in range(3):
            before = w.count()
            r = backup("--db", gd.db, "--to", self.path("during-%d.db" % i))
            after = w.count()
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("copied '%s'" % gd.db, r.stderr)
            snaps.append((self.path("during-%d.db" % i), before, after))
        self.assertGreater(w.count(), snaps[0][1], "writes went on during the backups")
        w.stop()
        self.assertEqual(w.errors, [])

        for path, before, after in snaps:
            self.assertFalse(os.path.exists(path + ".partial"))
            self.assertFalse(os.path.exists(path + "-wal"), "the copy stands alone")
            db = sqlite3.connect(path)
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "delete")
            db.close()
            n = counts(path)[0]
            print("%s: %d decisions; %d acknowledged before the backup, %d after"
                  % (os.path.basename(path), n, before, after), file=sys.stderr)
            # A snapshot: everything acknowledged before it began, nothing
            # that was not yet submitted when it ended.
            self.assertGreaterEqual(n, before)
            self.assertLessEqual(n, after)

        # Once writes stop, a copy equals the live store.
        final = self.path("final.db")
        r = backup("--db", gd.db, "--to", final)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(counts(final), counts(gd.db))
        self.assertEqual(counts(final)[0], w.count())
        gd.stop()

        # Restore: a copy in place of a store, governd on it, the audit
        # chain verified by vcli, counts as in the file.
        for path, _, _ in [snaps[1], (final, 0, 0)]:
            with self.subTest(copy=os.path.basename(path)):
                restored_dir = tempfile.mkdtemp(prefix="vcli-itest-restore-")
                self.addCleanup(shutil.rmtree, restored_dir, True)
                restored = os.path.join(restored_dir, "governd.db")
                shutil.copyfile(path, restored)
                want = counts(restored)
                g2 = Governd(name="backup-restored", db=restored, log_level="info")
                self.addCleanup(g2.cleanup)
                g2.start()
                v = subprocess.run([VCLI, "--server", g2.addr, "audit", "verify"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   timeout=60 * SLOW)
                self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
                self.assertIn("%d" % want[2], v.stdout + v.stderr)
                gov = Gov.connect(g2)
                m = gov.metrics()
                gov.close()
                self.assertEqual(m.total_decisions, want[0])
                g2.stop()

    def test_bad_usage_and_failures(self):
        gd = Governd(name="backup-errors", db=True, log_level="info")
        self.addCleanup(gd.cleanup)
        gd.start()
        gov = Gov.connect(gd)
        gov.submit()
        gov.close()
        target = self.path("copy.db")
        self.assertEqual(backup("--db", gd.db, "--to", target).returncode, 0)

        r = backup("--db", gd.db, "--to", target)
        self.assertEqual(r.returncode, 1)
        self.assertIn("'%s' exists; give --force" % target, r.stderr)
        r = backup("--db", gd.db, "--to", target, "--force")
        self.assertEqual(r.returncode, 0, r.stderr)

        r = backup("--db", gd.db)
        self.assertEqual(r.returncode, 2)
        self.assertIn("'--to FILE' is required", r.stderr)
        r = backup("--to", target, "--bogus")
        self.assertEqual(r.returncode, 2)
        self.assertIn("'--bogus'", r.stderr)

        missing = self.path("nope.db")
        r = backup("--db", missing, "--to", self.path("x.db"))
        self.assertEqual(r.returncode, 1)
        self.assertIn(missing, r.stderr)
        self.assertFalse(os.path.exists(self.path("x.db")))

        other = self.path("other.db")
        db = sqlite3.connect(other)
        db.execute("CREATE TABLE t(x)")
        db.commit()
        db.close()
        r = backup("--db", other, "--to", self.path("y.db"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("is not a governd store", r.stderr)
        self.assertFalse(os.path.exists(self.path("y.db")))

        r = backup("--db", gd.db, "--to", "/nonexistent-dir/copy.db")
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent-dir/copy.db", r.stderr)

        h = backup("--help")
        self.assertEqual(h.returncode, 0)
        self.assertIn("--to FILE", h.stdout)
        gd.stop()


if __name__ == "__main__":
    run_main()
