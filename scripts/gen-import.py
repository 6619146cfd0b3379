#!/usr/bin/env python3
"""Writes N requirement rows twice: as an import file for `reqloop import requirements` (the
template's Chinese headers) and as the requirements table's own columns for the sqlite3 shell's
`.import` — the same rows, so the two can be timed against each other (scripts/bench-import.sh).
Usage: gen-import.py DB ROWS IMPORT.csv SHELL.csv"""
import csv
import sqlite3
import sys

db, rows, ours, shell = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
con = sqlite3.connect(db)
customers = con.execute(
    "SELECT c.id, c.code, c.account_manager_id, u.department_id FROM customers c "
    "LEFT JOIN users u ON u.id = c.account_manager_id ORDER BY c.id").fetchall()
columns = [r[1] for r in con.execute("PRAGMA table_info(requirements)")]
next_id = con.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM requirements").fetchone()[0]
con.close()

titles = ["首批交期缩短至30天", "包装防护按出口标准", "外观颜色按客户色卡", "禁限用物质符合RoHS", "售后响应4小时内到场"]
channels = [("拜访", "visit"), ("电话", "phone"), ("邮件", "email")]
urgencies = [("紧急", "urgent"), ("重要", "important"), ("一般", "general")]
at = "2026-11-30T08:00:00.000Z"
with open(ours, "w", newline="", encoding="utf-8") as a, open(shell, "w", newline="", encoding="utf-8") as b:
    wa, wb = csv.writer(a), csv.writer(b)
    wa.writerow(["外部编号*", "客户编码*", "需求标题*", "需求描述", "来源渠道*", "类别*", "性质*", "类型*", "紧急程度*", "收集日期"])
    wb.writerow(columns)
    for i in range(rows):
        cid, code, manager, dept = customers[i % len(customers)]
        title = f"{titles[i % len(titles)]}（批次{i}）"
        description = "客户要求交期延误不超过3天，包装满足海运要求。"
        channel, urgency = channels[i % 3], urgencies[i % 3]
        collected = f"2026-{1 + i % 11:02d}-{1 + i % 28:02d}"
        wa.writerow([f"BENCH-{i}", code, title, description, channel[0], "产品", "功能性", "明示", urgency[0], collected])
        values = {
            "id": next_id + i, "version": 1, "code": f"XQ2026-B{i:07d}", "customer_id": cid,
            "project_id": "", "title": title, "description": description, "channel": channel[1],
            "category": "product", "sub_category": "", "nature": "functional", "kind": "stated",
            "urgency": urgency[1], "source_person": "", "collected_on": collected,
            "stage": "identification", "stage_entered_at": at, "merged_into": "",
            "created_by": 1, "created_at": at, "updated_at": at, "revision": 1,
            "sla_due_at": at, "waiting_since": "", "paused_minutes": 0, "owner_id": manager or "",
            "owner_department_id": dept or "", "external_key": f"BENCH-{i}", "feasibility_technical": "",
            "feasibility_economic": "", "feasibility_time": "", "feasibility_note": "", "value_score": "",
        }
        wb.writerow([values.get(c, "") for c in columns])
