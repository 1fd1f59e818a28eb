#!/usr/bin/env python3
"""Bulk-inserts API tokens for the scale benchmark, straight into the tokens
table of a migrated Latchkey database (SQLite file or PostgreSQL).

The first --known tokens get secrets derived from their index, written one per
line to --secrets, so a load generator can present them; the rest get random
hashes only. Secrets are UUIDs and the stored hash is SHA-256 of the UUID's 16
bytes, as Latchkey stores it.

    python3 bench/seed.py --database-url sqlite://bench.db --account ID \
        --count 10000000 --known 200000 --secrets secrets.txt
"""
import argparse
import hashlib
import os
import sqlite3
import subprocess
import sys
import time
import uuid

FAR = 4102444800_000000  # 2100-01-01 in microseconds


def rows(count, known, account, secrets_out, start):
    now = int(time.time() * 1_000_000)
    # Ids in order, as Latchkey's time-ordered ones are: inserts stay local.
    prefix = os.urandom(4).hex()
    for i in range(count):
        if i < known:
            index = start + i
            secret = uuid.UUID(bytes=hashlib.sha256(b"latchkey-bench-%d" % index).digest()[:16])
            secrets_out.write(str(secret) + "\n")
            digest = hashlib.sha256(secret.bytes).digest()
        else:
            digest = os.urandom(32)
        yield (str(uuid.UUID(f"{prefix}{i:024x}")), account, digest, now, FAR)


def seed_sqlite(path, args, secrets_out):
    db = sqlite3.connect(path, timeout=60)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    batch = []
    sql = ("INSERT INTO tokens (id, account_id, secret_hash, created_at, expires_at) "
           "VALUES (?, ?, ?, ?, ?)")
    for row in rows(args.count, args.known, args.account, secrets_out, args.start):
        batch.append(row)
        if len(batch) == 100_000:
            db.executemany(sql, batch)
            db.commit()
            batch.clear()
    if batch:
        db.executemany(sql, batch)
        db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def seed_postgres(url, args, secrets_out):
    copy = subprocess.Popen(
        ["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c",
         "\\copy tokens (id, account_id, secret_hash, created_at, expires_at) "
         "FROM STDIN WITH (FORMAT csv)"],
        stdin=subprocess.PIPE, text=True, bufsize=1 << 20)
    for (id_, account, digest, created, expires) in rows(
            args.count, args.known, args.account, secrets_out, args.start):
        copy.stdin.write(f"{id_},{account},\\x{digest.hex()},{created},{expires}\n")
    copy.stdin.close()
    if copy.wait() != 0:
        sys.exit("psql \\copy failed")
    subprocess.run(["psql", url, "-q", "-c", "ANALYZE tokens"], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--account", required=True, help="the owner of every token")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--known", type=int, default=0)
    parser.add_argument("--secrets", default="/dev/null")
    parser.add_argument("--start", type=int, default=0,
                        help="index of the first known secret (to add more later)")
    args = parser.parse_args()
    started = time.time()
    with open(args.secrets, "w") as secrets_out:
        url = args.database_url
        if url.startswith("sqlite://"):
            seed_sqlite(url[len("sqlite://"):].split("?")[0], args, secrets_out)
        elif url.startswith(("postgres://", "postgresql://")):
            seed_postgres(url, args, secrets_out)
        else:
            sys.exit("--database-url must be sqlite://… or postgres://…")
    print(f"seeded {args.count} tokens in {time.time() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
