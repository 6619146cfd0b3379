#!/usr/bin/env python3
"""Fills a demo SQLite database with bulk survey data for the analysis benchmark (issue 6):
CUSTOMERS extra customers spread over grades, tiers, industries and provinces, CAMPAIGNS
campaigns over one half-year inviting every customer, and RESPONSES answered invitations of
seven scored questions each (so 7 × RESPONSES answer rows), with answer times spread over the
half-year and the three half-years before it; then the daily roll-up the analysis reads is built
from the answers with the same GROUP BY as migration 0014.

These rows bypass the application (no audit entries); use only on a throw-away database.

Usage: scripts/gen-surveys.py DB [CUSTOMERS] [RESPONSES] [CAMPAIGNS]
"""
import datetime
import random
import secrets
import sqlite3
import sys

db = sys.argv[1]
n_cust = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
n_resp = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
n_camp = int(sys.argv[4]) if len(sys.argv) > 4 else 10
random.seed(11)
con = sqlite3.connect(db)
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA synchronous=OFF")
con.execute("PRAGMA cache_size=-200000")
at = "2026-01-01T00:00:00.000Z"
provinces = ["江苏省", "浙江省", "广东省", "山东省", "河北省", "上海市", "北京市", "四川省", "湖北省", "辽宁省"]
industries = ["钢铁", "汽车零部件", "电子", "化工", "机械", "检测服务", "医疗器械", "新能源"]
tiers = ["strategic", "key", "general", "potential"]
base = con.execute("SELECT COALESCE(MAX(id), 0) FROM customers").fetchone()[0] + 1
con.executemany(
    "INSERT INTO customers (id, code, name, business_status, grade, tier, industry, province, created_at, updated_at) "
    "VALUES (?, ?, ?, 'operating', ?, ?, ?, ?, ?, ?)",
    ((base + i, f"SV-{i:06d}", f"调查压测客户{i}", "A" if i % 50 == 0 else "B" if i % 10 == 0 else "C",
      tiers[i % 4], industries[i % len(industries)], provinces[i % len(provinces)], at, at) for i in range(n_cust)),
)
customers = list(range(base, base + n_cust))
template = con.execute("SELECT id, current_version FROM survey_templates ORDER BY id LIMIT 1").fetchone()
if template is None:
    sys.exit("run `reqloop demo` first: it creates the default questionnaire")
questions = [("q_quality", "quality"), ("q_stability", "quality"), ("q_delivery", "delivery"),
             ("q_quantity", "delivery"), ("q_service", "service"), ("q_price", "price"),
             ("q_communication", "communication")]
halves = [("2024-07-01", "2024-12-31"), ("2025-01-01", "2025-06-30"), ("2025-07-01", "2025-12-31"),
          ("2026-01-01", "2026-06-30")]
first_campaign = con.execute("SELECT COALESCE(MAX(id), 0) FROM survey_campaigns").fetchone()[0] + 1
first_inv = con.execute("SELECT COALESCE(MAX(id), 0) FROM survey_invitations").fetchone()[0] + 1
per_campaign = n_resp // n_camp
inv_id = first_inv
answers = []


def campaigns():
    for k in range(n_camp):
        start, end = halves[k % len(halves)] if k < n_camp - n_camp // 2 else halves[-1]
        yield (first_campaign + k, "annual", f"压测调查 {k}", template[0], template[1], start, end, "closed", "bench", at)


con.executemany(
    "INSERT INTO survey_campaigns (id, kind, title, template_id, template_version, period_start, period_end, status, "
    "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    list(campaigns()),
)
periods = {r[0]: (r[1], r[2]) for r in con.execute(
    "SELECT id, period_start, period_end FROM survey_campaigns WHERE id >= ?", (first_campaign,))}


def invitations():
    global inv_id
    for k in range(n_camp):
        cid = first_campaign + k
        start = datetime.date.fromisoformat(periods[cid][0])
        for j in range(per_campaign):
            customer = customers[(j * 7 + k) % n_cust]
            day = start + datetime.timedelta(days=(j * 13 + k) % 180)
            answered = f"{day.isoformat()}T0{j % 8}:00:00.000Z"
            yield (inv_id, cid, customer, secrets.token_hex(16), answered, at)
            inv_id += 1


con.executemany(
    "INSERT OR IGNORE INTO survey_invitations (id, campaign_id, customer_id, token, answered_at, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)",
    invitations(),
)
grade = {}


def answer_rows():
    for iid, cid, customer, answered in con.execute(
            "SELECT id, campaign_id, customer_id, answered_at FROM survey_invitations WHERE id >= ?", (first_inv,)):
        g = "A" if (customer - base) % 50 == 0 else "B" if (customer - base) % 10 == 0 else "C"
        mean = {"A": 4.3, "B": 3.9, "C": 3.4}[g]
        for code, aspect in questions:
            score = max(1, min(5, round(random.gauss(mean - (0.4 if aspect == "delivery" else 0), 0.9))))
            yield (iid, cid, customer, code, aspect, score, answered)


con.executemany(
    "INSERT INTO survey_answers (invitation_id, campaign_id, customer_id, question, aspect, score, answered_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
    answer_rows(),
)
con.execute("""
UPDATE survey_campaigns SET
    invited = (SELECT COUNT(*) FROM survey_invitations i WHERE i.campaign_id = survey_campaigns.id),
    answered = (SELECT COUNT(*) FROM survey_invitations i WHERE i.campaign_id = survey_campaigns.id
                AND i.answered_at IS NOT NULL)
WHERE id >= ?""", (first_campaign,))
con.execute("DELETE FROM survey_daily")
con.execute("""
INSERT INTO survey_daily (dim, day, category, aspect, score, n)
SELECT d.dim, date(a.answered_at, '+8 hours'),
       CASE d.dim WHEN 'grade' THEN c.grade WHEN 'tier' THEN c.tier
                  WHEN 'industry' THEN c.industry WHEN 'province' THEN c.province ELSE '' END,
       a.aspect, a.score, COUNT(*)
FROM survey_answers a
JOIN customers c ON c.id = a.customer_id
CROSS JOIN (SELECT '' AS dim UNION ALL SELECT 'grade' UNION ALL SELECT 'tier'
            UNION ALL SELECT 'industry' UNION ALL SELECT 'province') d
GROUP BY 1, 2, 3, 4, 5""")
con.commit()
counts = con.execute("SELECT (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM survey_invitations), "
                     "(SELECT COUNT(*) FROM survey_answers), (SELECT COUNT(*) FROM survey_daily)").fetchone()
print(f"customers {counts[0]}, invitations {counts[1]}, answer rows {counts[2]}, roll-up rows {counts[3]}")
