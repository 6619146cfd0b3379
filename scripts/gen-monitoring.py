#!/usr/bin/env python3
"""Completes a database filled by gen-requirements.py for the monitoring benchmarks (issue 7):
yearly volumes, tiers, grades, tags and risk flags on every customer; account managers for the
bulk customers; requirements received over the last two years with their owners and running
response clocks; the KPI roll-up rebuilt from the rows (as migration 0017 does).

Straight into the tables, like gen-requirements.py: a throw-away benchmark database only.

Usage: scripts/gen-monitoring.py DB
"""
import random
import sqlite3
import sys

con = sqlite3.connect(sys.argv[1])
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA synchronous=OFF")
random.seed(11)
managers = [r[0] for r in con.execute("SELECT id FROM users WHERE role = 'account_manager'")]
rows = con.execute("SELECT id FROM customers WHERE code LIKE 'BENCH-%'").fetchall()
tiers = ["strategic", "key", "general", "potential"]


def customer(cid):
    volume = int(random.lognormvariate(13, 1.6)) if random.random() > 0.1 else 0
    tags = '["长期协议"]' if random.random() < 0.01 else ('["政府任务"]' if random.random() < 0.005 else "[]")
    flags = '["tight_deadline"]' if random.random() < 0.02 else "[]"
    return (volume, random.choice(["A", "B", "C", "C", "C"]), random.choice(tiers), random.choice(managers),
            tags, flags, cid)


con.executemany(
    "UPDATE customers SET annual_revenue = ?, grade = ?, tier = ?, account_manager_id = ?, tags = ?, risk_flags = ? "
    "WHERE id = ?",
    (customer(cid) for (cid,) in rows),
)
# Received over the last 24 months; open ones with a running clock three days after their stage began.
con.execute(
    "UPDATE requirements SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', '2026-11-24T08:00:00Z', '-' || (id % 720) || ' days') "
    "WHERE code LIKE 'BQ-%'"
)
con.execute(
    "UPDATE requirements SET owner_id = (SELECT account_manager_id FROM customers c WHERE c.id = requirements.customer_id)"
)
con.execute(
    "UPDATE requirements SET owner_department_id = (SELECT department_id FROM users u WHERE u.id = requirements.owner_id)"
)
con.execute(
    "UPDATE requirements SET sla_due_at = strftime('%Y-%m-%dT%H:%M:%fZ', stage_entered_at, '+3 days') "
    "WHERE stage <> 'closed' AND sla_due_at IS NULL"
)
con.execute("DELETE FROM kpi_monthly")
con.execute(
    """INSERT INTO kpi_monthly (month, dim, subject_id, department_id, received, completed)
    SELECT strftime('%Y-%m', r.created_at, '+8 hours'), d.dim,
           CASE d.dim WHEN 'person' THEN COALESCE(r.owner_id, 0) ELSE r.customer_id END,
           CASE d.dim WHEN 'person' THEN COALESCE(r.owner_department_id, 0) ELSE 0 END,
           COUNT(*), SUM(CASE WHEN r.stage = 'closed' OR r.merged_into IS NOT NULL THEN 1 ELSE 0 END)
    FROM requirements r CROSS JOIN (SELECT 'person' AS dim UNION ALL SELECT 'customer') d
    GROUP BY 1, 2, 3, 4"""
)
con.execute(
    """INSERT INTO kpi_monthly (month, dim, subject_id, department_id, on_time)
    SELECT strftime('%Y-%m', h.completed_at, '+8 hours'), d.dim,
           CASE d.dim WHEN 'person' THEN COALESCE(h.receiver_id, 0) ELSE r.customer_id END,
           CASE d.dim WHEN 'person' THEN h.department_id ELSE 0 END, COUNT(*)
    FROM handoffs h JOIN requirements r ON r.id = h.requirement_id
    CROSS JOIN (SELECT 'person' AS dim UNION ALL SELECT 'customer') d
    WHERE h.status = 'completed' GROUP BY 1, 2, 3, 4
    ON CONFLICT (dim, month, subject_id, department_id) DO UPDATE SET on_time = kpi_monthly.on_time + excluded.on_time"""
)
con.commit()
con.execute("ANALYZE")
print("customers:", con.execute("SELECT COUNT(*) FROM customers").fetchone()[0],
      "kpi rows:", con.execute("SELECT COUNT(*) FROM kpi_monthly").fetchone()[0])
con.close()
