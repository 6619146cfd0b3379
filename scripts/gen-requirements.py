#!/usr/bin/env python3
"""Fills a demo SQLite database with bulk rows for benchmarks: CUSTOMERS extra customers,
REQUIREMENTS requirements (one identification item each) and five hand-offs per requirement
(four completed; the fifth pending for one requirement in ten, some of those overdue), straight
into the tables.

These rows bypass the application, so they have no audit entries: `reqloop audit verify` reports
them, by design. Use only on a throw-away benchmark database.

Usage: scripts/gen-requirements.py DB [REQUIREMENTS] [CUSTOMERS]
"""
import random
import sqlite3
import sys

db = sys.argv[1]
n_req = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
n_cust = int(sys.argv[3]) if len(sys.argv) > 3 else 5_000
random.seed(7)
con = sqlite3.connect(db)
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA synchronous=OFF")
at = "2026-11-24T08:00:00.000Z"
first = con.execute("SELECT COALESCE(MAX(id), 0) FROM customers").fetchone()[0] + 1
con.executemany(
    "INSERT INTO customers (code, name, business_status, grade, tier, created_at, updated_at) VALUES (?, ?, 'operating', 'C', 'general', ?, ?)",
    ((f"BENCH-{i:06d}", f"压测客户{i}", at, at) for i in range(n_cust)),
)
customers = [r[0] for r in con.execute("SELECT id FROM customers")]
stages = ["identification", "review", "determination", "transmission", "reverification", "realization",
          "verification", "validation", "return_visit", "closed"]
urgencies = ["urgent", "important", "general"]
start = con.execute("SELECT COALESCE(MAX(id), 0) FROM requirements").fetchone()[0] + 1


def rows():
    for i in range(n_req):
        rid = start + i
        # Every tenth requirement waits in identification with an item: the transition benchmark moves them.
        stage = "identification" if rid % 10 == 0 else stages[rid % 9 + 1] if rid % 9 else "review"
        yield (rid, f"BQ-{rid:08d}", random.choice(customers), f"压测需求{rid} 交期与包装", "visit", "product", "functional",
               "stated", urgencies[rid % 3], "2026-11-01", stage, at, at, at)


con.executemany(
    "INSERT INTO requirements (id, code, customer_id, title, channel, category, nature, kind, urgency, collected_on, stage, "
    "stage_entered_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    rows(),
)
con.executemany(
    "INSERT INTO requirement_items (requirement_id, description, category, acceptance_criterion, department_id) VALUES (?, '条目', 'product', '准则', 1)",
    ((start + i,) for i in range(n_req) if (start + i) % 10 == 0),
)
# Hand-offs: five per requirement along the default standard's first control points, received by
# the demo members of each responsible department.
points = con.execute(
    "SELECT id, stage, department_id, receiver_department_id FROM control_points WHERE standard_id = 1 ORDER BY id"
).fetchall()[:5]
members = {}
for uid, dept in con.execute("SELECT id, department_id FROM users WHERE department_id IS NOT NULL AND role <> 'portal'"):
    members.setdefault(dept, []).append(uid)
first_handoff = con.execute("SELECT COALESCE(MAX(id), 0) FROM handoffs").fetchone()[0] + 1


def handoffs():
    hid = first_handoff
    for i in range(n_req):
        rid = start + i
        for k, (cp, stage, dept, out_dept) in enumerate(points):
            pending = k == 4 and rid % 10 == 5
            receiver = random.choice(members[dept]) if dept in members else None
            day = 10 + (rid % 20) if pending else 1 + (rid % 9)
            due = f"2026-11-{day:02d}T08:00:00.000Z"
            yield (hid, rid, cp, stage, "bench", dept, receiver, out_dept,
                   "open" if pending else "completed", due, at, None if pending else at, None if pending else at,
                   "" if pending else "输出记录")
            hid += 1


con.executemany(
    "INSERT INTO handoffs (id, requirement_id, control_point_id, stage, sender_name, department_id, receiver_id, "
    "output_department_id, status, due_at, created_at, acknowledged_at, completed_at, output_note) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    handoffs(),
)
con.commit()
con.execute("ANALYZE")
con.close()
print(f"added {n_cust} customers, {n_req} requirements (first id {start}) and {n_req * len(points)} hand-offs")
