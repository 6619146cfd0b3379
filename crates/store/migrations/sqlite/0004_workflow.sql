-- The work standard (F9), point-to-point hand-offs and department work plans (F10), review
-- rounds (F11), attachments (F5), feasibility and value (F7), and which departments take part in
-- a requirement (their members see it even when its customer is outside their data scope).

-- A work standard is versioned as a whole: an edit writes a new version, the old ones stay.
CREATE TABLE work_standards (
    id         INTEGER PRIMARY KEY,
    version_no INTEGER NOT NULL UNIQUE,
    note       TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- One business control point (业务控制点, 000§3(1)): who does what in a stage, by when, from which
-- input record and supplier, which output record goes to which receiver, and how the receiver
-- turns it into its department work plan.
CREATE TABLE control_points (
    id                     INTEGER PRIMARY KEY,
    standard_id            INTEGER NOT NULL REFERENCES work_standards(id),
    stage                  TEXT NOT NULL,
    seq                    INTEGER NOT NULL,
    department_id          INTEGER NOT NULL REFERENCES departments(id),
    station                TEXT NOT NULL,
    work_content           TEXT NOT NULL,
    deadline_value         INTEGER NOT NULL,
    deadline_unit          TEXT NOT NULL,
    input_record           TEXT NOT NULL,
    input_department_id    INTEGER REFERENCES departments(id),
    output_record          TEXT NOT NULL,
    receiver_department_id INTEGER NOT NULL REFERENCES departments(id),
    plan_conversion        TEXT NOT NULL
);
CREATE INDEX control_points_standard ON control_points(standard_id, stage, seq);

-- The default standard from seed 000 (国铁事业部客户需求管理工作标准): nine stages, the stations of
-- marketing, design, process, procurement, production, quality, delivery and after-sales.
INSERT INTO work_standards (version_no, note, created_by, created_at)
VALUES (1, '默认工作标准（依据 000 客户需求管理工作标准）', 'system', '2026-01-01T00:00:00.000Z');

INSERT INTO control_points (standard_id, stage, seq, department_id, station, work_content, deadline_value, deadline_unit,
    input_record, input_department_id, output_record, receiver_department_id, plan_conversion)
SELECT 1, p.stage, p.seq, d.id, p.station, p.work_content, p.deadline_value, p.deadline_unit, p.input_record,
       i.id, p.output_record, r.id, p.plan_conversion
FROM (
    SELECT 'identification' AS stage, 1 AS seq, 'marketing' AS dept, '营销经理' AS station,
           '组织技术、营销多功能团队对接客户，逐条分解客户需求，形成客户需求识别表' AS work_content,
           2 AS deadline_value, 'working_days' AS deadline_unit, '客户来函、技术规格书、沟通记录' AS input_record,
           NULL AS input_dept, '客户需求识别表' AS output_record, 'production' AS receiver,
           '生产部据识别表编制需求评审计划，明确各业务工位评审时间节点' AS plan_conversion
    UNION ALL SELECT 'review', 1, 'production', '计划调度员',
           '组织技术、试验、工艺、交期、价格、质量、售后等业务工位逐项评审，得出评审结论', 3, 'working_days',
           '客户需求识别表', 'marketing', '需求评审报告', 'marketing',
           '营销部据评审报告与客户沟通偏离项，纳入合同谈判计划'
    UNION ALL SELECT 'review', 2, 'quality', '质量工程师',
           '识别质量安全风险与控制要点：法律法规禁限用要求、设计质量安全特性、包装防护与运输安全', 2, 'working_days',
           '客户需求识别表', 'marketing', '质量安全风险识别记录', 'production',
           '生产部将风险控制要点纳入评审结论'
    UNION ALL SELECT 'determination', 1, 'marketing', '营销经理',
           '与客户确认需求，签订合同及技术协议，关闭CBC响应表未响应条款', 5, 'working_days',
           '需求评审报告', 'production', '确定的需求清单（合同、技术协议）', 'design',
           '设计部将确定的需求纳入设计开发计划'
    UNION ALL SELECT 'transmission', 1, 'design', '主管设计师',
           '将确定的需求转化为设计输入和技术文件，传递至工艺、采购业务工位', 3, 'working_days',
           '确定的需求清单（合同、技术协议）', 'marketing', '需求传递单', 'process',
           '工艺部将需求纳入工艺准备计划'
    UNION ALL SELECT 'transmission', 2, 'procurement', '采购工程师',
           '核对顾客指定的采购件与客供件要求，落实供应商', 3, 'working_days',
           '需求传递单', 'design', '采购需求确认单', 'production',
           '生产部将采购到货节点纳入生产计划'
    UNION ALL SELECT 'reverification', 1, 'quality', '质量工程师',
           '再次核对协议版本、偏离许可批准、需求变更项点落实情况', 2, 'working_days',
           '需求传递单', 'design', '需求核对记录', 'production',
           '生产部按核对后的需求编制生产计划批次'
    UNION ALL SELECT 'realization', 1, 'production', '生产调度员',
           '按需求组织生产，核对生产计划批次与合同订单交付一致', 10, 'working_days',
           '需求核对记录', 'quality', '需求实现记录', 'quality',
           '质量部将检验项点纳入检验计划'
    UNION ALL SELECT 'verification', 1, 'quality', '检验员',
           '按验收准则逐项检验，确认让步接收已获顾客同意', 3, 'working_days',
           '需求实现记录', 'production', '检验报告', 'delivery',
           '交付部将检验合格产品纳入交付计划'
    UNION ALL SELECT 'validation', 1, 'delivery', '交付经理',
           '交付前核对产品认证证书、合格证、合格标志及许可批文，落实运输包装要求，取得顾客确认', 3, 'working_days',
           '检验报告', 'quality', '需求确认记录', 'after_sales',
           '售后服务部将客户纳入回访计划'
    UNION ALL SELECT 'return_visit', 1, 'after_sales', '售后服务工程师',
           '产品交付后进行客户回访，收集使用反馈与满意度', 5, 'working_days',
           '需求确认记录', 'delivery', '客户回访记录', 'marketing',
           '营销部将回访意见纳入客户关系维护计划'
) p
JOIN departments d ON d.code = p.dept
JOIN departments r ON r.code = p.receiver
LEFT JOIN departments i ON i.code = p.input_dept;

-- A hand-off (点对点衔接, F10): entering a stage gives each of its control points a task for one
-- receiver (a member of the responsible department), due by the control point's deadline.
CREATE TABLE handoffs (
    id                   INTEGER PRIMARY KEY,
    version              INTEGER NOT NULL DEFAULT 1,
    requirement_id       INTEGER NOT NULL REFERENCES requirements(id),
    control_point_id     INTEGER NOT NULL REFERENCES control_points(id),
    stage                TEXT NOT NULL,
    sender_id            INTEGER REFERENCES users(id),
    sender_name          TEXT NOT NULL,
    department_id        INTEGER NOT NULL REFERENCES departments(id),
    receiver_id          INTEGER REFERENCES users(id),
    output_department_id INTEGER NOT NULL REFERENCES departments(id),
    status               TEXT NOT NULL,
    due_at               TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    acknowledged_at      TEXT,
    completed_at         TEXT,
    output_note          TEXT NOT NULL DEFAULT ''
);
-- "Mine" and "my department" read open ones by due time; overdue is due_at < now among them.
CREATE INDEX handoffs_receiver ON handoffs(receiver_id, status, due_at);
CREATE INDEX handoffs_department ON handoffs(department_id, status, due_at);
CREATE INDEX handoffs_status_due ON handoffs(status, due_at);
CREATE INDEX handoffs_requirement ON handoffs(requirement_id, stage);

-- The receiving department's work plan: one entry per completed hand-off (000§3(1) "转化为本部门的工作计划").
CREATE TABLE work_plan_entries (
    id             INTEGER PRIMARY KEY,
    department_id  INTEGER NOT NULL REFERENCES departments(id),
    handoff_id     INTEGER NOT NULL REFERENCES handoffs(id),
    requirement_id INTEGER NOT NULL REFERENCES requirements(id),
    content        TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX work_plan_entries_department ON work_plan_entries(department_id, id);

-- Review rounds (F11): items × aspects, each aspect answered by its department.
CREATE TABLE review_rounds (
    id                INTEGER PRIMARY KEY,
    version           INTEGER NOT NULL DEFAULT 1,
    requirement_id    INTEGER NOT NULL REFERENCES requirements(id),
    round_no          INTEGER NOT NULL,
    aspects           TEXT NOT NULL,
    quality_required  INTEGER NOT NULL DEFAULT 0,
    quality_by        TEXT,
    quality_at        TEXT,
    quality_note      TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL,
    approved_by       TEXT,
    approved_at       TEXT,
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    UNIQUE (requirement_id, round_no)
);
CREATE INDEX review_rounds_status ON review_rounds(status, id);

CREATE TABLE review_answers (
    id          INTEGER PRIMARY KEY,
    round_id    INTEGER NOT NULL REFERENCES review_rounds(id),
    item_id     INTEGER NOT NULL REFERENCES requirement_items(id),
    aspect      TEXT NOT NULL,
    answer      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    answered_by TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    UNIQUE (round_id, item_id, aspect)
);

-- Attachments (F5): drawings, sample photos, recordings. The bytes live in the files directory
-- under a generated name; this row is the only way to them.
CREATE TABLE attachments (
    id             INTEGER PRIMARY KEY,
    requirement_id INTEGER NOT NULL REFERENCES requirements(id),
    file_name      TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    size           INTEGER NOT NULL,
    sha256         TEXT NOT NULL,
    storage_key    TEXT NOT NULL UNIQUE,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX attachments_requirement ON attachments(requirement_id, id);

-- Departments taking part in a requirement (items, hand-offs, review aspects).
CREATE TABLE requirement_departments (
    department_id  INTEGER NOT NULL REFERENCES departments(id),
    requirement_id INTEGER NOT NULL REFERENCES requirements(id),
    PRIMARY KEY (department_id, requirement_id)
);

-- Analysis (F7): feasibility on three axes and a value score.
ALTER TABLE requirements ADD COLUMN feasibility_technical TEXT;
ALTER TABLE requirements ADD COLUMN feasibility_economic TEXT;
ALTER TABLE requirements ADD COLUMN feasibility_time TEXT;
ALTER TABLE requirements ADD COLUMN feasibility_note TEXT NOT NULL DEFAULT '';
ALTER TABLE requirements ADD COLUMN value_score INTEGER;
