//! Demo data (`reqloop demo`, `serve --demo`): invented Chinese companies, people and the
//! users of every role, written through the same store functions as real data (so every
//! record has its audit entry).

mod data;

use chrono::{DateTime, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::customer::{
    BusinessStatus, Confidential, ContactFields, CreditRating, CustomerFields, Grade, RiskFlag,
    Tier,
};
use reqloop_domain::ids::{DepartmentId, UserId};
use reqloop_domain::requirement::Stage;
use reqloop_domain::user::{DataScope, NewUser, Role, User};

use crate::{Result, Store, Who};

/// The password of every demo user except `admin` (whose password is `admin123`).
pub const DEMO_PASSWORD: &str = "reqloop123";

/// What `load` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Loaded {
    Loaded {
        users: usize,
        customers: usize,
        requirements: usize,
    },
    /// The database already had users; nothing was written.
    AlreadyPopulated,
}

/// Loads the demo data into an empty database.
pub async fn load(store: &Store, now: DateTime<Utc>) -> Result<Loaded> {
    if !store.list_users().await?.is_empty() {
        return Ok(Loaded::AlreadyPopulated);
    }
    let system = Who::system();
    for (code, zh, en) in [
        ("sales2", "销售二部", "Sales Dept. 2"),
        ("management", "管理层", "Management"),
    ] {
        store.create_department(&system, code, zh, en, now).await?;
    }
    let mut users = vec![
        store
            .create_user(
                &system,
                new_user("admin", "系统管理员", "admin123", Role::Admin),
                now,
            )
            .await?,
    ];
    for (username, name, role, dept) in data::STAFF {
        let role: Role = role
            .parse()
            .map_err(|_| crate::Error::Other(format!("demo role {role}")))?;
        let dept_id = store.department_by_code(dept).await?;
        let mut u = new_user(username, name, DEMO_PASSWORD, role);
        u.department_id = dept_id;
        users.push(store.create_user(&system, u, now).await?);
    }
    let admin = actor(&users[0]);
    let managers: Vec<UserId> = users
        .iter()
        .filter(|u| u.role == Role::AccountManager)
        .map(|u| u.id)
        .collect();

    // Grade by rank of yearly transaction share (F2 defaults: ranks 1–8 A, 9–12 B, the rest C).
    let mut by_revenue: Vec<usize> = (0..data::COMPANIES.len()).collect();
    by_revenue.sort_by_key(|&i| (std::cmp::Reverse(data::COMPANIES[i].revenue_yuan), i));
    let mut first_customer = None;
    for (rank, &i) in by_revenue.iter().enumerate() {
        let c = &data::COMPANIES[i];
        let grade = match rank {
            0..=7 => Grade::A,
            8..=11 => Grade::B,
            _ => Grade::C,
        };
        let tier = match rank {
            0..=2 => Tier::Strategic,
            3..=11 => Tier::Key,
            _ if c.revenue_yuan < 300_000 => Tier::Potential,
            _ => Tier::General,
        };
        let risk_flags = match i % 17 {
            3 => vec![RiskFlag::TightDeadline],
            11 => vec![RiskFlag::Litigation, RiskFlag::Dominant],
            _ if i == 29 => vec![RiskFlag::Dishonest],
            _ => vec![],
        };
        let fields = CustomerFields {
            name: c.name.into(),
            short_name: c.short_name.into(),
            industry: c.industry.into(),
            application: c.application.into(),
            province: c.province.into(),
            city: c.city.into(),
            address: c.address.into(),
            phone: c.phone.into(),
            company_size: c.size.parse().ok(),
            business_status: if i % 23 == 22 {
                BusinessStatus::Abnormal
            } else {
                BusinessStatus::Operating
            },
            annual_revenue: c.revenue_yuan,
            grade,
            tier,
            account_manager_id: Some(managers[i % managers.len()]),
            team: if rank < 3 {
                vec![managers[(i + 1) % managers.len()]]
            } else {
                vec![]
            },
            tags: c.tags.iter().map(|t| t.to_string()).collect(),
            risk_flags,
            remarks: String::new(),
            confidential: Some(Confidential {
                credit_rating: Some(CreditRating::ALL[i % CreditRating::ALL.len()]),
                financial_status: if rank < 8 {
                    "财务稳健，回款及时".into()
                } else {
                    "按合同节点付款".into()
                },
            }),
        };
        let customer = store.create_customer(&admin, fields, now).await?;
        first_customer.get_or_insert(customer.id);
        for k in 0..2 {
            let (name, title) = data::CONTACTS[(i * 2 + k) % data::CONTACTS.len()];
            let contact = ContactFields {
                name: name.into(),
                title: title.into(),
                phone: format!(
                    "13{}{:08}",
                    5 + (i + k) % 5,
                    10_000_000 + i * 7919 + k * 131
                ),
                email: format!("contact{}{}@example.cn", i + 1, k + 1),
                wechat: format!("wx_{}_{}", i + 1, k + 1),
                primary: k == 0,
            };
            store.add_contact(&admin, customer.id, contact, now).await?;
        }
    }
    let staff: Vec<Actor> = users.iter().map(actor).collect();
    // Graded first: the records that follow (surveys, warnings) see the customers' tiers.
    load_grading(store, &staff, now).await?;
    let requirements = load_requirements(store, &admin, &staff, now).await?;
    load_contracts(store, &admin, now).await?;
    load_changes(store, &admin, &staff, now).await?;
    load_process_audits(store, &staff, now).await?;
    load_complaints(store, &admin, &staff, now).await?;
    load_property(store, &staff, now).await?;
    load_surveys(store, &admin, now).await?;
    load_warnings(store, &staff, now).await?;
    load_contacts(store, &staff, now).await?;
    let mut portal = new_user("portal", "客户门户演示", DEMO_PASSWORD, Role::Portal);
    portal.customer_id = first_customer;
    users.push(store.create_user(&system, portal, now).await?);
    Ok(Loaded::Loaded {
        users: users.len(),
        customers: data::COMPANIES.len(),
        requirements,
    })
}

fn new_user(username: &str, name: &str, password: &str, role: Role) -> NewUser {
    NewUser {
        username: username.into(),
        display_name: name.into(),
        password: password.into(),
        role,
        department_id: None,
        customer_id: None,
        data_scope: None,
        email: format!("{username}@reqloop.example.cn"),
    }
}

fn actor(u: &User) -> Actor {
    Actor {
        user_id: u.id,
        username: u.username.clone(),
        role: u.role,
        department_id: u.department_id,
        customer_id: u.customer_id,
        scope: DataScope::All,
    }
}

/// How many demo requirements, spread evenly over the nine stages and closed.
pub const DEMO_REQUIREMENTS: usize = 200;

/// Requirements in every stage, each walked there through the real stage gate (items, outputs,
/// transitions), with a rework now and then.
async fn load_requirements(
    store: &Store,
    admin: &Actor,
    staff: &[Actor],
    now: DateTime<Utc>,
) -> Result<usize> {
    use reqloop_domain::requirement::{Feasibility, ItemFields, RequirementFields};
    let channels = reqloop_domain::requirement::Channel::ALL;
    let departments = store.departments().await?;
    let manager = store
        .user_by_username("pm")
        .await?
        .map_or(admin.user_id, |u| u.id);
    let mut projects = Vec::new();
    for (code, name, customer) in [
        ("GT-2026-01", "高铁牵引电机配套项目", 1),
        ("DT-2026-03", "城轨车辆辅助电源改造项目", 2),
        ("JC-2026-07", "年度检测服务框架项目", 3),
    ] {
        let fields = reqloop_domain::project::ProjectFields {
            code: code.into(),
            name: name.into(),
            customer_id: Some(reqloop_domain::ids::CustomerId(customer)),
            manager_id: manager,
            team: vec![admin.user_id],
        };
        projects.push(store.create_project(admin, fields, now).await?.id);
    }
    let mut created = Vec::with_capacity(DEMO_REQUIREMENTS);
    for i in 0..DEMO_REQUIREMENTS {
        let (title, category, sub, urgency) = data::REQUIREMENTS[i % data::REQUIREMENTS.len()];
        let parse = |v: &str| crate::Error::Other(format!("demo value {v}"));
        let customer = reqloop_domain::ids::CustomerId((i % data::COMPANIES.len()) as i64 + 1);
        let fields = RequirementFields {
            customer_id: customer,
            project_id: (i % 4 != 3).then(|| projects[i % projects.len()]),
            title: title.into(),
            description: format!(
                "{title}。客户在第{}次沟通中提出，需逐条识别并评审。",
                i % 5 + 1
            ),
            channel: channels[i % channels.len()],
            category: category.parse().map_err(|_| parse(category))?,
            sub_category: sub.map(|s| s.parse().map_err(|_| parse(s))).transpose()?,
            nature: if sub == Some("function") || sub == Some("performance") {
                reqloop_domain::requirement::Nature::Functional
            } else {
                reqloop_domain::requirement::Nature::NonFunctional
            },
            kind: reqloop_domain::requirement::Kind::ALL[i % 3],
            urgency: urgency.parse().map_err(|_| parse(urgency))?,
            source_person: data::CONTACTS[i % data::CONTACTS.len()].0.into(),
            collected_on: format!("2026-{:02}-{:02}", 1 + i % 11, 1 + i % 28),
            feasibility_technical: Some(Feasibility::ALL[usize::from(i % 7 == 2)]),
            feasibility_economic: Some(Feasibility::ALL[if i % 31 == 5 { 2 } else { 0 }]),
            feasibility_time: Some(Feasibility::ALL[usize::from(i % 5 == 1)]),
            feasibility_note: if i % 7 == 2 || i % 31 == 5 || i % 5 == 1 {
                "需与设计、生产确认资源后答复客户".into()
            } else {
                String::new()
            },
            value_score: Some((i % 5) as i64 + 1),
        };
        // Every fourth requirement started nine days ago: its current hand-offs are overdue.
        let now = if i % 4 == 1 {
            now - chrono::Duration::days(9)
        } else {
            now
        };
        let r = store.create_requirement(admin, fields, now).await?;
        created.push(r.id);
        let target = Stage::ALL[i % Stage::ALL.len()];
        let dept = &departments[i % departments.len().min(8)];
        let item = ItemFields {
            description: title.into(),
            category: r.fields.category,
            sub_category: r.fields.sub_category,
            acceptance_criterion: format!("符合技术协议第{}条", i % 12 + 1),
            department_id: dept.id,
        };
        store.add_item(admin, r.id, item, now).await?;
        let mut stage = Stage::Identification;
        while stage != target {
            finish_stage(store, admin, staff, r.id, stage, i, now).await?;
            let next = stage.next().unwrap_or(Stage::Closed);
            store
                .transition_requirement(admin, r.id, next, "", None, now)
                .await?;
            stage = next;
        }
        if stage == Stage::Review && (i / 10) % 2 == 0 {
            // Under review now: a round half answered, with mixed answers.
            review(store, admin, staff, r.id, i, false, now).await?;
        }
        if i % 23 == 7 && stage != Stage::Identification && stage != Stage::Closed {
            store
                .transition_requirement(
                    admin,
                    r.id,
                    Stage::Identification,
                    "客户补充了新的技术条件，重新识别",
                    None,
                    now,
                )
                .await?;
        }
    }
    // Requirements i and i + 48 are the same customer asking the same thing: duplicates to find.
    // One is merged, one pair goes on the customer feedback register.
    let current = store.get_requirement(admin, created[48]).await?;
    store
        .merge_requirement(admin, created[48], created[0], current.version, now)
        .await?;
    store
        .register_inconsistency(
            admin,
            created[1],
            created[49],
            "两次提出的温升限值需与客户确认是否一致",
            now,
        )
        .await?;
    Ok(DEMO_REQUIREMENTS)
}

/// The member of a department acting in the demo (the first one).
fn member(staff: &[Actor], department: Option<DepartmentId>) -> Option<&Actor> {
    staff
        .iter()
        .find(|a| a.department_id.is_some() && a.department_id == department)
}

/// Does a stage's work the way users would: the review round for the review stage, each
/// hand-off acknowledged and completed by its receiver (which files the stage output), and the
/// output filed by hand where the standard defines no hand-off.
async fn finish_stage(
    store: &Store,
    admin: &Actor,
    staff: &[Actor],
    requirement: i64,
    stage: Stage,
    i: usize,
    now: DateTime<Utc>,
) -> Result<()> {
    if stage == Stage::Review {
        review(store, admin, staff, requirement, i, true, now).await?;
    }
    let pending = store
        .list_handoffs(
            admin,
            &crate::HandoffFilter {
                requirement_id: Some(requirement),
                per_page: Some(50),
                ..Default::default()
            },
            now,
        )
        .await?;
    for h in pending.items.iter().filter(|h| h.stage == stage) {
        let receiver = h
            .receiver_id
            .and_then(|id| staff.iter().find(|a| a.user_id == id))
            .or_else(|| member(staff, Some(h.department_id)));
        let Some(receiver) = receiver else { continue };
        store.acknowledge_handoff(receiver, h.id, None, now).await?;
        let note = format!("{}已提交（{}）", h.output_record, receiver.username);
        store
            .complete_handoff(receiver, h.id, None, &note, now)
            .await?;
    }
    let on_file = store
        .stage_outputs(admin, requirement)
        .await?
        .iter()
        .any(|o| o.stage == stage.as_str() && o.superseded == 0);
    if stage != Stage::Identification && !on_file {
        store
            .add_stage_output(
                admin,
                requirement,
                &format!("{}阶段输出记录", stage.as_str()),
                now,
            )
            .await?;
    }
    Ok(())
}

/// A review round answered by each aspect's department: complete and approved, or (for a
/// requirement still under review) half answered with mixed answers.
async fn review(
    store: &Store,
    admin: &Actor,
    staff: &[Actor],
    requirement: i64,
    i: usize,
    complete: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    use reqloop_domain::review::{Answer, AnswerFields, Aspect};
    let round = store
        .start_review(
            admin,
            crate::NewReview {
                requirement_id: requirement,
                aspects: vec![],
            },
            now,
        )
        .await?;
    for (k, aspect) in Aspect::ALL.iter().enumerate() {
        if !complete && k % 2 == 1 {
            continue;
        }
        let dept = store.department_by_code(aspect.department_code()).await?;
        let who = member(staff, dept).unwrap_or(admin);
        for item in &round.items {
            let (answer, note) = match (complete, (i + k) % 5) {
                (false, 0) => (Answer::CannotMeet, "建议将交期调整为45天，需客户确认偏离"),
                (_, 1) => (Answer::WithConditions, "需客户提供样件后确认"),
                _ => (Answer::CanMeet, ""),
            };
            let a = AnswerFields {
                item_id: item.id,
                aspect: *aspect,
                answer,
                note: note.into(),
            };
            store.answer_review(who, round.id, a, now).await?;
        }
    }
    if complete {
        if round.quality_required {
            let quality =
                member(staff, store.department_by_code("quality").await?).unwrap_or(admin);
            store
                .quality_review(quality, round.id, "已核对禁限用材料与包装运输要求", now)
                .await?;
        }
        store.approve_review(admin, round.id, None, now).await?;
    }
    Ok(())
}

/// Two contracts: a technical agreement in its second version with a CBC table holding an open
/// clause, a deviation whose first permit the customer rejected and whose second it approved, and
/// one still waiting; a supply contract with one order whose production covers delivery and one
/// whose first batch was made too late.
async fn load_contracts(store: &Store, admin: &Actor, now: DateTime<Utc>) -> Result<()> {
    use reqloop_domain::contract::{
        ClauseFields, ContractFields, ContractKind, NewVersion, PermitDecision, Response,
        ResponseFields,
    };
    use reqloop_domain::ids::CustomerId;
    use reqloop_domain::order::{DeliveryBatch, OrderFields, ProductionBatch};
    let clauses = |texts: &[(&str, &str)]| -> Vec<ClauseFields> {
        texts
            .iter()
            .map(|(n, t)| ClauseFields {
                number: (*n).into(),
                text: (*t).into(),
            })
            .collect()
    };
    let agreement = store
        .create_contract(
            admin,
            ContractFields {
                customer_id: CustomerId(1),
                project_id: None,
                number: "JX-2026-017".into(),
                title: "牵引电机技术协议".into(),
                kind: ContractKind::TechnicalAgreement,
                signed_on: "2026-03-18".into(),
            },
            now,
        )
        .await?;
    let v1 = [
        ("3.1", "额定功率 600 kW，温升不超过 80 K"),
        ("3.2", "首批交期 30 天"),
        ("3.3", "包装符合 GB/T 13384"),
    ];
    let v2 = [
        ("3.1", "额定功率 600 kW，温升不超过 80 K"),
        ("3.2", "首批交期 30 天"),
        ("3.3", "包装符合 GB/T 13384，海运防潮"),
        ("3.4", "提供型式试验报告与 CRCC 认证证书"),
        ("3.5", "噪声不超过 75 dB(A)"),
    ];
    for (base, texts) in [(0, &v1[..]), (1, &v2[..])] {
        let version = NewVersion {
            base_version: base,
            note: if base == 0 {
                "首版"
            } else {
                "客户修订包装与认证要求"
            }
            .into(),
            clauses: clauses(texts),
        };
        store
            .add_contract_version(admin, agreement.id, version, now)
            .await?;
    }
    let table = store.contract_version(admin, agreement.id, None).await?;
    let answer = |r: Response, note: &str| ResponseFields {
        response: r,
        note: note.into(),
        responsible_id: None,
    };
    let answers = [
        answer(Response::Comply, ""),
        answer(Response::Deviate, "首批交期 45 天"),
        answer(Response::Comply, ""),
        answer(Response::Deviate, "CRCC 证书预计 2027 年一季度取得"),
        answer(Response::Open, "待声学试验结果"),
    ];
    for (line, a) in table.lines.iter().zip(answers) {
        store
            .respond_to_clause(admin, line.clause_id, 0, a, now)
            .await?;
    }
    let decide = |approved: bool, on: &str, evidence: &str| PermitDecision {
        approved,
        decided_on: on.into(),
        evidence: evidence.into(),
    };
    let delivery_clause = table.lines[1].clause_id;
    let first = store
        .request_permit(admin, delivery_clause, "申请首批交期 45 天", now)
        .await?;
    store
        .decide_permit(
            admin,
            first.id,
            decide(false, "2026-04-02", "客户函〔2026〕41号：不同意"),
            now,
        )
        .await?;
    let second = store
        .request_permit(
            admin,
            delivery_clause,
            "申请首批交期 40 天，分两批交付",
            now,
        )
        .await?;
    store
        .decide_permit(
            admin,
            second.id,
            decide(true, "2026-04-10", "会议纪要 2026-04-10"),
            now,
        )
        .await?;
    store
        .request_permit(
            admin,
            table.lines[3].clause_id,
            "认证取得前先按型式试验报告交付",
            now,
        )
        .await?;
    let supply = store
        .create_contract(
            admin,
            ContractFields {
                customer_id: CustomerId(2),
                project_id: None,
                number: "GH-2026-052".into(),
                title: "辅助变流器供货合同".into(),
                kind: ContractKind::Contract,
                signed_on: "2026-05-06".into(),
            },
            now,
        )
        .await?;
    let batch = |q: i64, on: &str| DeliveryBatch {
        quantity: q,
        promised_on: on.into(),
    };
    let made = |q: i64, planned: &str, actual: Option<&str>| ProductionBatch {
        quantity: q,
        planned_on: planned.into(),
        actual_on: actual.map(Into::into),
    };
    let supply_version = NewVersion {
        base_version: 0,
        note: "首版".into(),
        clauses: clauses(&[("2.1", "分两批交付，共 50 台"), ("2.2", "随货提供合格证")]),
    };
    let supply_table = store
        .add_contract_version(admin, supply.id, supply_version, now)
        .await?;
    for line in &supply_table.lines {
        store
            .respond_to_clause(admin, line.clause_id, 0, answer(Response::Comply, ""), now)
            .await?;
    }
    let mut orders = Vec::new();
    for (number, production) in [
        (
            "DD-2026-101",
            vec![
                made(20, "2026-06-20", Some("2026-06-18")),
                made(30, "2026-07-15", None),
            ],
        ),
        (
            "DD-2026-102",
            vec![
                made(20, "2026-06-20", Some("2026-07-02")),
                made(30, "2026-07-15", None),
            ],
        ),
    ] {
        let order = OrderFields {
            number: number.into(),
            delivery: vec![batch(20, "2026-06-30"), batch(30, "2026-07-31")],
            production,
        };
        orders.push(store.create_order(admin, supply.id, order, now).await?);
    }
    // The first order passes its pre-delivery check and is delivered; the second, made too late,
    // stays blocked.
    for o in &orders {
        for item in reqloop_domain::delivery::CheckItem::ALL
            .iter()
            .filter(|i| !i.decided_by_data())
        {
            store
                .record_check(admin, o.id, *item, true, "已核对", now)
                .await?;
        }
    }
    store.deliver_order(admin, orders[0].id, None, now).await?;
    Ok(())
}

/// Changes in every state (F14): each walked through the real steps, the re-review answered by
/// the aspects' departments and the notices confirmed by the departments' members. The one
/// approved but not yet implemented amends the supply contract GH-2026-052, so its open order
/// waits for it at the pre-delivery check.
async fn load_changes(
    store: &Store,
    admin: &Actor,
    staff: &[Actor],
    now: DateTime<Utc>,
) -> Result<()> {
    use reqloop_domain::change::{
        ChangeFields, ChangeOrigin, ChangeState, Factor, Impact, ItemChange, Redetermination,
        StepNote,
    };
    use reqloop_domain::review::{Answer, AnswerFields, Aspect};
    // (title, origin, reason, 5M1E, the state to reach)
    type Plan<'a> = (
        &'a str,
        ChangeOrigin,
        &'a str,
        &'a [(Factor, &'a str)],
        ChangeState,
    );
    let plans: [Plan; 9] = [
        (
            "外壳颜色由 RAL7035 改为 RAL7016",
            ChangeOrigin::Customer,
            "客户整车外观方案调整",
            &[
                (Factor::Material, "涂料色号更换"),
                (Factor::Method, "喷涂工艺卡换版"),
            ],
            ChangeState::Requested,
        ),
        (
            "接插件改用客户指定品牌",
            ChangeOrigin::Customer,
            "客户统一二级供应商目录",
            &[
                (Factor::Material, "指定采购件"),
                (Factor::Measurement, "来料检验规范更新"),
            ],
            ChangeState::Redetermined,
        ),
        (
            "包装改为可循环周转箱",
            ChangeOrigin::Company,
            "降低包装成本，减少废弃物",
            &[
                (Factor::Method, "包装作业指导书修订"),
                (Factor::Environment, "周转箱回收流程"),
            ],
            ChangeState::Rereviewed,
        ),
        (
            "首批交付数量由 20 台调整为 25 台",
            ChangeOrigin::Customer,
            "客户项目提前开通",
            &[
                (Factor::Man, "增加一个班次"),
                (Factor::Machine, "试验台排产调整"),
            ],
            ChangeState::Approved,
        ),
        (
            "出厂试验增加局部放电测试",
            ChangeOrigin::Customer,
            "客户质量协议升级",
            &[
                (Factor::Measurement, "新增局放测试项目"),
                (Factor::Machine, "局放测试仪校准"),
            ],
            ChangeState::Notified,
        ),
        (
            "铭牌增加二维码追溯信息",
            ChangeOrigin::Customer,
            "客户全生命周期追溯要求",
            &[(Factor::Method, "铭牌图纸修订")],
            ChangeState::Implemented,
        ),
        (
            "紧固件由镀锌改为达克罗",
            ChangeOrigin::Customer,
            "整车防腐等级提升",
            &[
                (Factor::Material, "涂层更换"),
                (Factor::Measurement, "盐雾试验 720h"),
            ],
            ChangeState::Verified,
        ),
        (
            "说明书改为中英双语",
            ChangeOrigin::Customer,
            "出口项目需要",
            &[(Factor::Method, "技术文件翻译与审核")],
            ChangeState::Closed,
        ),
        (
            "取消出厂前的老化试验",
            ChangeOrigin::Company,
            "缩短生产周期",
            &[
                (Factor::Method, "试验大纲删减"),
                (Factor::Measurement, "取消老化记录"),
            ],
            ChangeState::Rejected,
        ),
    ];
    // Requirements past review, with items; the supply contract's customer first.
    let contracts = store
        .list_contracts(
            admin,
            &crate::ContractFilter {
                per_page: Some(50),
                ..Default::default()
            },
        )
        .await?;
    let supply = contracts
        .items
        .iter()
        .find(|c| c.fields.number == "GH-2026-052");
    let mut candidates = Vec::new();
    for stage in [
        Stage::Realization,
        Stage::Verification,
        Stage::Validation,
        Stage::ReturnVisit,
        Stage::Closed,
    ] {
        let page = store
            .list_requirements(
                admin,
                &crate::RequirementFilter {
                    stage: Some(stage),
                    per_page: Some(20),
                    ..Default::default()
                },
            )
            .await?;
        candidates.extend(page.items);
    }
    let linked = supply.and_then(|c| {
        candidates
            .iter()
            .position(|r| r.fields.customer_id == c.fields.customer_id)
    });
    let note = |n: &str| StepNote {
        version: None,
        note: n.into(),
    };
    let mut used = std::collections::HashSet::new();
    for (k, (title, origin, reason, impacts, target)) in plans.into_iter().enumerate() {
        let pick = if target == ChangeState::Approved {
            linked
        } else {
            None
        };
        let Some(r) = pick.map(|i| &candidates[i]).or_else(|| {
            candidates
                .iter()
                .skip(k * 3)
                .find(|r| !used.contains(&r.id) && Some(r.id) != linked.map(|i| candidates[i].id))
        }) else {
            break;
        };
        used.insert(r.id);
        let items = store.list_items(admin, r.id).await?;
        let Some(item) = items.first() else { continue };
        let fields = ChangeFields {
            requirement_id: r.id,
            contract_id: pick.and(supply.map(|c| c.id)),
            origin,
            title: title.into(),
            reason: reason.into(),
            impacts: impacts
                .iter()
                .map(|(f, n)| Impact {
                    factor: *f,
                    note: (*n).into(),
                })
                .collect(),
            items: vec![ItemChange {
                item_id: item.id,
                description: format!("{}（按变更：{}）", item.fields.description, title),
                acceptance_criterion: format!(
                    "{}；并满足变更要求",
                    item.fields.acceptance_criterion
                ),
            }],
        };
        let marketing = staff
            .iter()
            .find(|a| a.role == Role::MarketingManager)
            .unwrap_or(admin);
        let g = store.create_change(marketing, fields, now).await?;
        if target == ChangeState::Requested {
            continue;
        }
        let g = store
            .redetermine_change(
                marketing,
                g.id,
                Redetermination {
                    version: g.version,
                    note: "已与客户技术代表电话再确认，内容一致".into(),
                    items: vec![],
                },
                now,
            )
            .await?;
        if target == ChangeState::Redetermined {
            continue;
        }
        let aspects = vec![Aspect::Technical, Aspect::Process, Aspect::Quality];
        let round = store
            .start_change_review(
                marketing,
                g.id,
                crate::ChangeReview {
                    version: g.version,
                    aspects: aspects.clone(),
                },
                now,
            )
            .await?;
        let rejected = target == ChangeState::Rejected;
        for aspect in &aspects {
            let who = member(
                staff,
                store.department_by_code(aspect.department_code()).await?,
            )
            .unwrap_or(admin);
            for it in &round.items {
                let (answer, note) = if rejected && *aspect == Aspect::Quality {
                    (
                        Answer::CannotMeet,
                        "老化试验是筛选早期失效的必要手段，建议保留",
                    )
                } else {
                    (Answer::CanMeet, "")
                };
                let a = AnswerFields {
                    item_id: it.id,
                    aspect: *aspect,
                    answer,
                    note: note.into(),
                };
                store.answer_review(who, round.id, a, now).await?;
            }
        }
        if rejected {
            let g = store.get_change(admin, g.id).await?;
            store
                .reject_change(
                    admin,
                    g.id,
                    StepNote {
                        version: Some(g.version),
                        note: "再评审不能满足，维持原试验大纲".into(),
                    },
                    now,
                )
                .await?;
            continue;
        }
        if round.quality_required {
            let quality =
                member(staff, store.department_by_code("quality").await?).unwrap_or(admin);
            store
                .quality_review(quality, round.id, "已复核变更对质量特性的影响", now)
                .await?;
        }
        store.approve_review(admin, round.id, None, now).await?;
        if target == ChangeState::Rereviewed {
            continue;
        }
        let approver = staff
            .iter()
            .find(|a| a.role == Role::Executive)
            .unwrap_or(admin);
        let g = store
            .approve_change(approver, g.id, note("同意变更"), now)
            .await?;
        if target == ChangeState::Approved {
            continue;
        }
        let production = store.department_by_code("production").await?;
        let g = store
            .notify_change(
                marketing,
                g.id,
                crate::NotifyRequest {
                    version: g.version,
                    departments: production.map(|d| d.0).into_iter().collect(),
                },
                now,
            )
            .await?;
        if target == ChangeState::Notified {
            // One department has confirmed, the others not yet.
            if let Some(n) = g.notices.first().filter(|_| g.notices.len() > 1) {
                let who = member(staff, Some(DepartmentId(n.department_id))).unwrap_or(admin);
                store
                    .confirm_notice(who, g.id, n.department_id, note("已按通知执行"), now)
                    .await?;
            }
            continue;
        }
        let mut g = g;
        for n in g.notices.clone() {
            let who = member(staff, Some(DepartmentId(n.department_id))).unwrap_or(admin);
            g = store
                .confirm_notice(
                    who,
                    g.id,
                    n.department_id,
                    note("技术文件已换版，首件确认合格"),
                    now,
                )
                .await?;
        }
        if target == ChangeState::Implemented {
            continue;
        }
        let quality = staff
            .iter()
            .find(|a| a.role == Role::QualityEngineer)
            .unwrap_or(admin);
        let g = store
            .verify_change(
                quality,
                g.id,
                StepNote {
                    version: Some(g.version),
                    note: "抽检 3 批次，变更效果符合要求".into(),
                },
                now,
            )
            .await?;
        if target == ChangeState::Verified {
            continue;
        }
        store
            .close_change(
                marketing,
                g.id,
                StepNote {
                    version: Some(g.version),
                    note: String::new(),
                },
                now,
            )
            .await?;
    }
    Ok(())
}

/// Process audits (F16): a region audit reported with its findings and excellent practices, a
/// project audit half graded, and one planned.
async fn load_process_audits(store: &Store, staff: &[Actor], now: DateTime<Utc>) -> Result<()> {
    use reqloop_domain::process_audit::{AuditGrade, AuditScope, ItemGrading, PlanFields};
    let Some(quality) = staff.iter().find(|a| a.role == Role::QualityEngineer) else {
        return Ok(());
    };
    let project = store.list_projects().await?.first().map(|p| p.id);
    let plan = |title: &str, scope, province: &str, project_id, planned_on: &str| PlanFields {
        title: title.into(),
        scope,
        province: province.into(),
        project_id,
        planned_on: planned_on.into(),
        auditor_id: quality.user_id,
        items: vec![],
    };
    let reported = store
        .plan_process_audit(
            quality,
            plan(
                "2026 年上半年江苏区域需求管理过程审核",
                AuditScope::Region,
                "江苏省",
                None,
                "2026-06-18",
            ),
            now,
        )
        .await?;
    for item in &reported.items {
        let (grade, note, finding, practice) = match item.seq % 6 {
            0 => (
                AuditGrade::Excellent,
                "抽查 12 份记录",
                "",
                "识别表与顾客反馈信息一览表联动，与以往产品表述不一致处逐条标注并回访确认",
            ),
            1 => (AuditGrade::Good, "记录完整", "", ""),
            3 => (
                AuditGrade::Excellent,
                "评审签署齐全",
                "",
                "评审会前把条目按部门预分派，评审周期由 5 天缩短到 2 天",
            ),
            4 => (
                AuditGrade::NotQualified,
                "抽查 8 项变更",
                "2 项变更未做效果验证即关闭",
                "",
            ),
            _ => (AuditGrade::Qualified, "基本符合", "", ""),
        };
        let g = ItemGrading {
            version: item.version,
            grade,
            note: note.into(),
            finding: finding.into(),
            practice: practice.into(),
        };
        store
            .grade_audit_item(quality, reported.id, item.seq, g, now)
            .await?;
    }
    let reported = store.get_process_audit(reported.id).await?;
    store
        .report_process_audit(
            quality,
            reported.id,
            crate::AuditReport {
                version: reported.version,
                summary: "总体良好；变更效果验证存在缺失，须在 30 天内整改并复查。".into(),
            },
            now,
        )
        .await?;
    if let Some(project) = project {
        let running = store
            .plan_process_audit(
                quality,
                plan(
                    "重点项目需求管理过程审核",
                    AuditScope::Project,
                    "",
                    Some(project),
                    "2026-11-20",
                ),
                now,
            )
            .await?;
        for item in running.items.iter().take(4) {
            let g = ItemGrading {
                version: item.version,
                grade: AuditGrade::Good,
                note: "现场抽查".into(),
                finding: String::new(),
                practice: String::new(),
            };
            store
                .grade_audit_item(quality, running.id, item.seq, g, now)
                .await?;
        }
    }
    store
        .plan_process_audit(
            quality,
            plan(
                "2026 年下半年广东区域需求管理过程审核",
                AuditScope::Region,
                "广东省",
                None,
                "2026-12-15",
            ),
            now,
        )
        .await?;
    Ok(())
}

/// Department heads, and complaints in every state (F17, F18): one past its 4-hour
/// confirmation, an invalid one with its evidence, minor ones corrected, serious ones with 8D
/// reports, closed ones (a serious one leaving its survey task) and a positive feedback.
async fn load_complaints(
    store: &Store,
    admin: &Actor,
    staff: &[Actor],
    now: DateTime<Utc>,
) -> Result<()> {
    use reqloop_domain::complaint::{
        Capa, CaseRole, ComplaintChannel, ComplaintFields, ComplaintKind, Decision, Severity,
    };
    let system = Who::system();
    let by_name = |u: &str| staff.iter().find(|a| a.username == u);
    for (dept, head) in [
        ("marketing", "marketing"),
        ("design", "reviewer"),
        ("process", "process"),
        ("procurement", "purchase"),
        ("production", "production"),
        ("quality", "quality"),
        ("delivery", "pm"),
        ("after_sales", "service"),
    ] {
        if let (Some(d), Some(h)) = (store.department_by_code(dept).await?, by_name(head)) {
            store
                .set_department_head(&system, d, Some(h.user_id), now)
                .await?;
        }
    }
    let marketing = by_name("marketing").unwrap_or(admin);
    let quality = by_name("quality").unwrap_or(admin);
    let investigator = by_name("process").unwrap_or(admin);
    let production = store.department_by_code("production").await?.map(|d| d.0);
    let design = store.department_by_code("design").await?.map(|d| d.0);
    // (title, content, kind, the state to reach, severity, hours ago)
    type Plan<'a> = (
        &'a str,
        &'a str,
        ComplaintKind,
        &'a str,
        Option<Severity>,
        i64,
    );
    let plans: [Plan; 12] = [
        (
            "到货外箱破损",
            "第 3 批到货 2 箱外箱破损，内件待检",
            ComplaintKind::Complaint,
            "registered",
            None,
            1,
        ),
        (
            "电机异响",
            "装车试运行时 2 台电机有异响",
            ComplaintKind::Complaint,
            "registered",
            None,
            6,
        ),
        (
            "合格证缺失",
            "随货合格证少 5 份",
            ComplaintKind::Complaint,
            "confirmed",
            None,
            30,
        ),
        (
            "颜色偏差",
            "客户认为外壳颜色与样板不符",
            ComplaintKind::Complaint,
            "invalid",
            None,
            50,
        ),
        (
            "交货延迟一天",
            "首批比承诺晚到一天",
            ComplaintKind::Complaint,
            "closed_invalid",
            None,
            200,
        ),
        (
            "标签错贴",
            "两箱标签型号错贴",
            ComplaintKind::Complaint,
            "correcting",
            Some(Severity::Minor),
            70,
        ),
        (
            "绝缘耐压不合格",
            "入厂检验 3 台耐压击穿",
            ComplaintKind::Complaint,
            "capa",
            Some(Severity::Serious),
            90,
        ),
        (
            "螺栓力矩不足",
            "抽检 4 处螺栓力矩低于要求",
            ComplaintKind::Complaint,
            "verifying",
            Some(Severity::Minor),
            120,
        ),
        (
            "温升超标",
            "型式试验温升超标 6K",
            ComplaintKind::Complaint,
            "replying",
            Some(Severity::Serious),
            300,
        ),
        (
            "批量焊缝气孔",
            "焊缝探伤发现批量气孔",
            ComplaintKind::Complaint,
            "closed",
            Some(Severity::Serious),
            600,
        ),
        (
            "说明书错字",
            "说明书第 12 页参数单位错误",
            ComplaintKind::Complaint,
            "closed",
            Some(Severity::Minor),
            400,
        ),
        (
            "服务响应快",
            "售后工程师 2 小时内到场，表扬",
            ComplaintKind::Praise,
            "closed",
            None,
            100,
        ),
    ];
    let eight = Capa {
        d1_team: "质量部赵敏（组长）、设计部、生产部".into(),
        d2_problem: "入厂检验 3 台耐压击穿，批次 2026-10".into(),
        d3_containment: "在库及在途同批次全部隔离复检".into(),
        d4_root_cause: "绕组浸漆工艺温度曲线偏低，固化不充分".into(),
        d5_corrective: "修订浸漆工艺卡，增加固化度抽检".into(),
        d6_verification: "连续 3 批耐压试验 100% 合格".into(),
        d7_prevention: "工艺参数纳入 SPC 监控，FMEA 更新".into(),
        d8_closure: "8D 关闭，经验在各车间分享".into(),
    };
    for (i, (title, content, kind, target, severity, hours)) in plans.into_iter().enumerate() {
        let at = now - chrono::Duration::hours(hours);
        let f = ComplaintFields {
            customer_id: Some(i as i64 % 12 + 1),
            kind,
            channel: [
                ComplaintChannel::Phone,
                ComplaintChannel::Email,
                ComplaintChannel::Visit,
            ][i % 3],
            title: title.into(),
            content: content.into(),
            product: "YJ-315 牵引电机".into(),
            order_id: None,
        };
        let k = store.register_complaint(marketing, f, at).await?;
        if target == "registered" {
            continue;
        }
        let k = store
            .confirm_complaint(
                marketing,
                k.id,
                crate::ComplaintNote {
                    version: k.version,
                    note: "已电话与客户质量工程师逐项确认".into(),
                },
                at + chrono::Duration::hours(2),
            )
            .await?;
        if target == "confirmed" {
            continue;
        }
        if kind == ComplaintKind::Praise {
            store
                .close_complaint(
                    marketing,
                    k.id,
                    crate::ComplaintNote {
                        version: k.version,
                        note: String::new(),
                    },
                    at,
                )
                .await?;
            continue;
        }
        let decided = at + chrono::Duration::hours(3);
        let valid = severity.is_some();
        let d = Decision {
            version: k.version,
            valid,
            severity,
            department_id: if severity == Some(Severity::Serious) {
                design
            } else {
                production
            },
            fix_due: None,
            customer_agreement: String::new(),
            evidence: if valid {
                String::new()
            } else {
                "出厂检验记录及色差仪读数 ΔE=0.6，在协议允许范围内".into()
            },
            explanation: if valid {
                String::new()
            } else {
                "已书面向客户说明色差在约定范围内，并附检测报告".into()
            },
        };
        let k = store.decide_complaint(marketing, k.id, d, decided).await?;
        if target == "invalid" {
            continue;
        }
        if target == "closed_invalid" {
            store
                .close_complaint(
                    marketing,
                    k.id,
                    crate::ComplaintNote {
                        version: k.version,
                        note: String::new(),
                    },
                    decided,
                )
                .await?;
            continue;
        }
        let k = store
            .assign_complaint(
                marketing,
                k.id,
                crate::Assignment {
                    version: k.version,
                    role: CaseRole::Investigator,
                    user_id: investigator.user_id.0,
                },
                decided,
            )
            .await?;
        let k = store
            .assign_complaint(
                marketing,
                k.id,
                crate::Assignment {
                    version: k.version,
                    role: CaseRole::Verifier,
                    user_id: quality.user_id.0,
                },
                decided,
            )
            .await?;
        let worked = decided + chrono::Duration::hours(20);
        let k = if severity == Some(Severity::Serious) {
            let mut draft = eight.clone();
            if target == "capa" {
                draft.d5_corrective.clear();
                draft.d6_verification.clear();
                draft.d7_prevention.clear();
                draft.d8_closure.clear();
            }
            let k = store
                .save_capa(
                    investigator,
                    k.id,
                    crate::CapaDraft {
                        version: k.version,
                        capa: draft,
                        customer_template: false,
                    },
                    worked,
                )
                .await?;
            if target == "capa" {
                continue;
            }
            store
                .submit_capa(
                    investigator,
                    k.id,
                    crate::ComplaintNote {
                        version: k.version,
                        note: String::new(),
                    },
                    worked,
                )
                .await?
        } else {
            if target == "correcting" {
                continue;
            }
            store
                .correct_complaint(
                    investigator,
                    k.id,
                    crate::ComplaintNote {
                        version: k.version,
                        note: "已返工并重新检验，附返工记录与照片".into(),
                    },
                    worked,
                )
                .await?
        };
        if target == "verifying" {
            continue;
        }
        let k = store
            .verify_complaint(
                quality,
                k.id,
                crate::Verification {
                    version: k.version,
                    passed: true,
                    note: "现场抽检 5 台，效果确认".into(),
                },
                worked + chrono::Duration::hours(4),
            )
            .await?;
        if target == "replying" {
            continue;
        }
        store
            .reply_complaint(
                marketing,
                k.id,
                crate::Reply {
                    version: k.version,
                    letter: format!(
                        "尊敬的客户：关于“{title}”，我司已完成调查与整改，现将结果报告如下……"
                    ),
                    evidence: "1. 纠正预防措施报告；2. 复检记录；3. 现场照片".into(),
                },
                worked + chrono::Duration::hours(8),
            )
            .await?;
    }
    Ok(())
}

/// Customer property (F19): tooling on loan, a confidential drawing (controlled number, the
/// "外来文件" mark), software returned, customer-supplied parts with a reported damage, and a
/// sample waiting for inspection.
async fn load_property(store: &Store, staff: &[Actor], now: DateTime<Utc>) -> Result<()> {
    use reqloop_domain::property::{IncidentKind, PropertyKind, ReceiptFields};
    let Some(marketing) = staff.iter().find(|a| a.username == "marketing") else {
        return Ok(());
    };
    let quality = staff
        .iter()
        .find(|a| a.role == Role::QualityEngineer)
        .unwrap_or(marketing);
    // (customer, name, kind, quantity, unit, confidential, what happens)
    let items: [(i64, &str, PropertyKind, i64, &str, bool, &str); 5] = [
        (
            1,
            "牵引电机型式试验工装",
            PropertyKind::Tooling,
            2,
            "套",
            false,
            "issued",
        ),
        (
            2,
            "辅助变流器总装图（客户图纸）",
            PropertyKind::Document,
            1,
            "份",
            true,
            "stored",
        ),
        (
            3,
            "车载通信测试软件 V2.1",
            PropertyKind::Software,
            1,
            "套",
            false,
            "returned",
        ),
        (
            4,
            "客供轴承 6312-2RS",
            PropertyKind::Material,
            200,
            "件",
            false,
            "incident",
        ),
        (
            5,
            "外观限度样品",
            PropertyKind::Sample,
            3,
            "件",
            false,
            "received",
        ),
    ];
    for (customer, name, kind, quantity, unit, confidential, what) in items {
        let f = ReceiptFields {
            customer_id: customer,
            name: name.into(),
            kind,
            quantity,
            unit: unit.into(),
            received_on: "2026-10-12".into(),
            confidential,
            note: String::new(),
        };
        let p = store.receive_property(marketing, f, now).await?;
        if what == "received" {
            continue;
        }
        let p = store
            .inspect_property(
                quality,
                p.id,
                crate::Inspection {
                    version: p.version,
                    passed: true,
                    note: "外观完好，数量与清单一致".into(),
                    location: if kind.controlled() {
                        "文控中心资料柜 A-3".into()
                    } else {
                        "成品库 2 号区".into()
                    },
                },
                now,
            )
            .await?;
        match what {
            "issued" => {
                store
                    .issue_property(
                        marketing,
                        p.id,
                        crate::PropertyMove {
                            version: p.version,
                            to: "试验站 王工".into(),
                            purpose: "型式试验".into(),
                            note: String::new(),
                        },
                        now,
                    )
                    .await?;
            }
            "returned" => {
                let p = store
                    .report_property(
                        marketing,
                        p.id,
                        "软件已用于出厂测试，运行正常，计划本月归还",
                        now,
                    )
                    .await?;
                store
                    .return_property(
                        marketing,
                        p.id,
                        crate::PropertyMove {
                            version: p.version,
                            to: String::new(),
                            purpose: String::new(),
                            note: "快递归还，单号 SF1234567890".into(),
                        },
                        now,
                    )
                    .await?;
            }
            "incident" => {
                let p = store
                    .property_incident(
                        marketing,
                        p.id,
                        crate::NewIncident {
                            kind: IncidentKind::Damage,
                            description: "搬运中 2 件外圈磕碰".into(),
                        },
                        now,
                    )
                    .await?;
                if let Some(i) = p.incidents.first() {
                    store
                        .incident_reported(
                            marketing,
                            p.id,
                            i.id,
                            "11 月 3 日邮件告知客户采购部，客户同意补发",
                            now,
                        )
                        .await?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Two years of satisfaction surveys (F20, F21): a half-yearly campaign over every active
/// customer, most of them answered, so that trends and categories differ — grade A customers
/// are happier, delivery is the weak aspect and improves over time; the current half-year's
/// campaign is still open.
async fn load_surveys(store: &Store, admin: &Actor, now: DateTime<Utc>) -> Result<()> {
    use reqloop_domain::survey::{CampaignFields, CampaignKind, Response, Score};
    let halves = [
        (
            "2025 年上半年顾客满意度调查",
            "2025-01-01",
            "2025-06-30",
            540,
        ),
        (
            "2025 年下半年顾客满意度调查",
            "2025-07-01",
            "2025-12-31",
            360,
        ),
        (
            "2026 年上半年顾客满意度调查",
            "2026-01-01",
            "2026-06-30",
            180,
        ),
        (
            "2026 年下半年顾客满意度调查",
            "2026-07-01",
            "2026-12-31",
            10,
        ),
    ];
    for (h, (title, start, end, days_ago)) in halves.into_iter().enumerate() {
        let at = now - chrono::Duration::days(days_ago);
        let f = CampaignFields {
            kind: CampaignKind::Annual,
            title: title.into(),
            period_start: start.into(),
            period_end: end.into(),
            account_manager_id: None,
            customer_ids: vec![],
            template_id: None,
        };
        let g = store.create_campaign(admin, f, at).await?;
        let invitations = store.invitations(admin, g.id, Some(1), Some(200)).await?;
        let customers = store
            .list_customers(
                admin,
                &crate::CustomerFilter {
                    per_page: Some(200),
                    ..Default::default()
                },
            )
            .await?;
        let q = store
            .questionnaire(g.template_id, g.template_version)
            .await?;
        for (k, inv) in invitations.items.iter().enumerate() {
            // About three in four answer.
            if (k + h) % 4 == 3 {
                continue;
            }
            let grade = customers
                .items
                .iter()
                .find(|c| c.id.0 == inv.customer_id)
                .map(|c| c.fields.grade.as_str())
                .unwrap_or("C");
            let base: i64 = match grade {
                "A" => 4,
                "B" => 4,
                _ => 3,
            };
            let scores = q
                .questions
                .iter()
                .enumerate()
                .map(|(j, question)| {
                    let wobble = ((k * 7 + j * 3 + h * 5) % 5) as i64 - 2;
                    let mut score = base + wobble.signum() * (wobble.abs() / 2);
                    if question.aspect == "delivery" && h < 2 {
                        score -= 1;
                    }
                    if grade == "A" && j % 2 == 0 {
                        score += 1;
                    }
                    Score {
                        question: question.code.clone(),
                        score: score.clamp(1, 5),
                        comment: if score <= 2 {
                            "交期偶有延误，希望改进".into()
                        } else {
                            String::new()
                        },
                    }
                })
                .collect();
            let r = Response {
                scores,
                comment: String::new(),
            };
            let when = at + chrono::Duration::days((k % 20) as i64);
            store.answer_invitation(&inv.token, r, None, when).await?;
        }
        if h < 3 {
            let g = store.get_campaign(g.id).await?;
            store
                .close_campaign(admin, g.id, g.version, at + chrono::Duration::days(30))
                .await?;
        }
    }
    load_survey_followup(store, admin, now).await
}

/// An account manager's yearly campaign half answered and the rest reminded, an on-site
/// survey, and rectification actions in each state (the delivery weakness of 2025 evaluated
/// effective: the 2026 answers show it).
async fn load_survey_followup(store: &Store, admin: &Actor, now: DateTime<Utc>) -> Result<()> {
    use reqloop_domain::rectification::{ActionFields, ActionStep};
    use reqloop_domain::survey::{CampaignFields, CampaignKind, Response, Score};
    let Some(am) = store.user_by_username("zhangwei").await? else {
        return Ok(());
    };
    let year = chrono::Datelike::year(&reqloop_domain::time::shanghai_date(now));
    let answer = |q: &reqloop_domain::survey::Questionnaire, score: i64| Response {
        scores: q
            .questions
            .iter()
            .map(|x| Score {
                question: x.code.clone(),
                score,
                comment: String::new(),
            })
            .collect(),
        comment: String::new(),
    };
    let at = now - chrono::Duration::days(40);
    let g = store
        .create_campaign(
            admin,
            CampaignFields {
                kind: CampaignKind::AccountManager,
                title: format!("{year} 年度张伟客户满意度调查"),
                period_start: format!("{year}-01-01"),
                period_end: format!("{year}-12-31"),
                account_manager_id: Some(am.id.0),
                customer_ids: vec![],
                template_id: None,
            },
            at,
        )
        .await?;
    let q = store
        .questionnaire(g.template_id, g.template_version)
        .await?;
    let invitations = store.invitations(admin, g.id, Some(1), Some(200)).await?;
    for (k, inv) in invitations
        .items
        .iter()
        .enumerate()
        .filter(|(k, _)| k % 2 == 0)
    {
        let when = at + chrono::Duration::days(k as i64 % 10);
        store
            .answer_invitation(&inv.token, answer(&q, 4), None, when)
            .await?;
    }
    store
        .remind_unanswered(admin, g.id, now - chrono::Duration::days(5))
        .await?;
    let on_site = store
        .create_campaign(
            admin,
            CampaignFields {
                kind: CampaignKind::OnSite,
                title: format!("{year} 年登门现场调查"),
                period_start: format!("{year}-01-01"),
                period_end: format!("{year}-12-31"),
                account_manager_id: None,
                customer_ids: invitations
                    .items
                    .iter()
                    .take(2)
                    .map(|i| i.customer_id)
                    .collect(),
                template_id: None,
            },
            at,
        )
        .await?;
    for inv in store
        .invitations(admin, on_site.id, None, None)
        .await?
        .items
    {
        store
            .answer_invitation(&inv.token, answer(&q, 5), Some(admin), at)
            .await?;
    }

    let marketing = store.user_by_username("marketing").await?;
    let pm = store.user_by_username("pm").await?;
    let (Some(marketing), Some(pm)) = (marketing, pm) else {
        return Ok(());
    };
    let action = |title: &str, aspect: &str, finding: &str, owner: i64, due: chrono::NaiveDate| {
        ActionFields {
            title: title.into(),
            aspect: aspect.into(),
            category_by: String::new(),
            category: String::new(),
            finding: finding.into(),
            owner_id: owner,
            due_on: due.to_string(),
        }
    };
    let day = |d: i64| reqloop_domain::time::shanghai_date(now - chrono::Duration::days(d));
    let delivery = store
        .create_survey_action(
            admin,
            action(
                "缩短交期、按期交付",
                "delivery",
                "2025 年交付方面不满意占比明显高于其他方面，意见集中在交期延误。",
                pm.id.0,
                day(200),
            ),
            now - chrono::Duration::days(330),
        )
        .await?;
    let steps = [
        (
            ActionStep::Rectify,
            "排产提前锁定关键物料，交期承诺经生产部确认后再回复顾客。",
            None,
            300,
        ),
        (
            ActionStep::Reply,
            "在 2025 年终用户座谈会上通报交期整改措施，并书面回复相关顾客。",
            None,
            280,
        ),
        (
            ActionStep::Evaluate,
            "2026 年上半年交付方面不满意占比下降，整改有效。",
            Some(true),
            150,
        ),
    ];
    let mut version = delivery.version;
    for (step, note, effective, ago) in steps {
        version = store
            .step_survey_action(
                admin,
                delivery.id,
                crate::ActionStepRequest {
                    version,
                    step,
                    note: note.into(),
                    effective,
                },
                now - chrono::Duration::days(ago),
            )
            .await?
            .version;
    }
    let price = store
        .create_survey_action(
            admin,
            action(
                "报价透明化",
                "price",
                "C 类顾客对价格的不满意占比较高，认为报价构成不清晰。",
                marketing.id.0,
                day(-30),
            ),
            now - chrono::Duration::days(60),
        )
        .await?;
    store
        .step_survey_action(
            admin,
            price.id,
            crate::ActionStepRequest {
                version: price.version,
                step: ActionStep::Rectify,
                note: "报价单增加材料、加工、检测费用明细。".into(),
                effective: None,
            },
            now - chrono::Duration::days(20),
        )
        .await?;
    store
        .create_survey_action(
            admin,
            action(
                "售后响应提速",
                "service",
                "部分顾客反映售后响应慢。",
                marketing.id.0,
                day(3),
            ),
            now - chrono::Duration::days(25),
        )
        .await?;
    Ok(())
}

/// The monitoring passes run once over the demo (F22 breaches, F24 warnings — the overdue order,
/// the complaints of the last months), then a red warning is assigned, an orange one resolved
/// and a yellow one resolved and verified, so each step of the life shows.
async fn load_warnings(store: &Store, staff: &[Actor], now: DateTime<Utc>) -> Result<()> {
    use reqloop_domain::warning::{Level, WarningStep};
    store.record_breaches(now).await?;
    store.raise_warnings(now).await?;
    let by_name = |u: &str| staff.iter().find(|a| a.username == u);
    let (Some(marketing), Some(quality), Some(account)) = (
        by_name("marketing"),
        by_name("quality"),
        by_name("zhangwei"),
    ) else {
        return Ok(());
    };
    let first = |level: Level| crate::WarningFilter {
        level: Some(level),
        state: Some(reqloop_domain::warning::WarningState::Raised),
        per_page: Some(1),
        ..Default::default()
    };
    let step = |version, step, note: &str, assignee_id| crate::WarningStepRequest {
        version,
        step,
        note: note.into(),
        assignee_id,
    };
    let plans: [(Level, &[(WarningStep, &str)]); 3] = [
        (Level::Red, &[(WarningStep::Assign, "请跟进交付计划")]),
        (
            Level::Orange,
            &[
                (WarningStep::Assign, "请联系客户"),
                (WarningStep::Resolve, "已与客户沟通，约定整改计划并书面确认"),
            ],
        ),
        (
            Level::Yellow,
            &[
                (WarningStep::Assign, "请核实"),
                (WarningStep::Resolve, "已核实并处理完毕"),
                (WarningStep::Verify, "复核有效，关闭预警"),
            ],
        ),
    ];
    for (level, steps) in plans {
        let Some(w) = store
            .list_warnings(marketing, &first(level))
            .await?
            .items
            .into_iter()
            .next()
        else {
            continue;
        };
        let mut version = w.version;
        for (s, note) in steps {
            let by = match s {
                WarningStep::Resolve => account,
                WarningStep::Verify => quality,
                _ => marketing,
            };
            let assignee = (*s == WarningStep::Assign).then_some(account.user_id.0);
            version = store
                .step_warning(by, w.id, step(version, *s, note, assignee), now)
                .await?
                .version;
        }
    }
    Ok(())
}

/// F2: volumes of the year before last as an earlier system recorded them; last year's annual
/// determination, approved by the committee (grade history, last year's volumes); then a
/// customer of grade C that grew past the A boundary this year, and this half-year's adjustment
/// awaiting the committee.
async fn load_grading(store: &Store, staff: &[Actor], now: DateTime<Utc>) -> Result<()> {
    use chrono::Datelike;
    use reqloop_domain::grading::RunKind;
    let by_name = |u: &str| staff.iter().find(|a| a.username == u);
    let (Some(marketing), Some(exec)) = (by_name("marketing"), by_name("exec")) else {
        return Ok(());
    };
    let today = reqloop_domain::time::shanghai_date(now);
    let year = i64::from(today.year());
    let customers = store.customers_after(0, 10_000).await?;
    let older: Vec<(i64, i64)> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let pct = 80 + (i as i64 * 7) % 26;
            (c.id.0, c.fields.annual_revenue * pct / 100)
        })
        .collect();
    store
        .record_volumes(&Who::from(marketing), year - 2, &older, now)
        .await?;
    let last = store
        .start_grading_run(
            marketing,
            crate::NewRun {
                kind: RunKind::Annual,
                year: (year - 1) as i32,
                half: None,
            },
            now,
        )
        .await?;
    store
        .decide_grading_run(
            exec,
            last.id,
            crate::RunDecision {
                version: last.version,
                approve: true,
                note: "经用户动态评价领导小组审议，同意按候选名单确定。".into(),
            },
            now,
        )
        .await?;
    let mut by_volume: Vec<&reqloop_domain::customer::Customer> = customers.iter().collect();
    by_volume.sort_by_key(|c| (std::cmp::Reverse(c.fields.annual_revenue), c.id.0));
    if let (Some(top), Some(grown)) = (by_volume.get(2), by_volume.get(12)) {
        let current = store.get_customer(marketing, grown.id).await?;
        let patch = reqloop_domain::customer::CustomerPatch {
            version: current.version,
            annual_revenue: Some(top.fields.annual_revenue + 1_000_000),
            ..Default::default()
        };
        store
            .update_customer(marketing, grown.id, patch, now)
            .await?;
    }
    store
        .start_grading_run(
            marketing,
            crate::NewRun {
                kind: RunKind::Semiannual,
                year: year as i32,
                half: Some(if today.month() <= 6 { 1 } else { 2 }),
            },
            now,
        )
        .await?;
    Ok(())
}

/// F25: visits over the last three months to about half of the customers (by their account
/// managers), the plan's pass (collection tasks for the others, return visits for delivered
/// orders), last year's symposium held with its attendees and minutes, this year's planned.
async fn load_contacts(store: &Store, staff: &[Actor], now: DateTime<Utc>) -> Result<()> {
    use chrono::Datelike;
    use reqloop_domain::contact::{Minutes, SymposiumFields, VisitFields, VisitMethod};
    let Some(marketing) = staff.iter().find(|a| a.username == "marketing") else {
        return Ok(());
    };
    let today = reqloop_domain::time::shanghai_date(now);
    let customers = store.customers_after(0, 10_000).await?;
    const NOTES: &[(&str, &str)] = &[
        (
            "了解明年产能扩张计划，客户关注交期稳定性。",
            "希望首批交期缩短至 30 天",
        ),
        ("回访上季度交付情况，包装防护获好评。", ""),
        (
            "沟通新产品试验大纲，客户提出温升限值要求。",
            "温升限值按 65K 考核",
        ),
        ("电话确认图纸变更的实施时间。", ""),
    ];
    for (i, c) in customers.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        let by = c
            .fields
            .account_manager_id
            .and_then(|m| staff.iter().find(|a| a.user_id == m))
            .unwrap_or(marketing);
        let (summary, needs) = NOTES[i % NOTES.len()];
        let visit = VisitFields {
            customer_id: c.id.0,
            task_id: None,
            visited_on: (today - chrono::Duration::days(10 + (i as i64 * 7) % 80)).to_string(),
            method: if i % 3 == 0 {
                VisitMethod::Phone
            } else {
                VisitMethod::Visit
            },
            contact_person: format!("联系人{}", i + 1),
            attendees: by.username.clone(),
            summary: summary.into(),
            needs: needs.into(),
        };
        store.record_visit(by, visit, now).await?;
    }
    store.plan_contacts(now).await?;
    let year = today.year();
    let held = store
        .plan_symposium(
            marketing,
            SymposiumFields {
                year: year - 1,
                product_line: "牵引变压器".into(),
                planned_on: format!("{}-11-18", year - 1),
                place: "株洲 · 公司技术中心".into(),
                agenda: "一、本年度生产经营情况；二、上年度协议执行情况；三、下年度计划；四、满意度调查结果及整改；五、用户意见与答复。".into(),
            },
            now,
        )
        .await?;
    for (k, c) in customers.iter().take(4).enumerate() {
        store
            .add_attendee(
                marketing,
                held.id,
                crate::NewAttendee {
                    customer_id: Some(c.id.0),
                    name: format!("用户代表{}", k + 1),
                    title: "技术部部长".into(),
                },
                now,
            )
            .await?;
    }
    store
        .add_attendee(
            marketing,
            held.id,
            crate::NewAttendee {
                customer_id: None,
                name: "王教授".into(),
                title: "特邀行业专家".into(),
            },
            now,
        )
        .await?;
    let held = store.get_symposium(marketing, held.id).await?;
    store
        .record_minutes(
            marketing,
            held.id,
            Minutes {
                version: held.version,
                held_on: format!("{}-11-18", year - 1),
                minutes: "1. 通报全年交付 1,260 台，准时率 96%。\n2. 用户反映温升试验周期长，承诺明年一季度前增加一套试验台。\n3. 满意度调查：交付方面不满意比例较上年下降 4 个百分点。\n4. 下年度重点：缩短首批交期，推行包装标准化。".into(),
            },
            now,
        )
        .await?;
    store
        .plan_symposium(
            marketing,
            SymposiumFields {
                year,
                product_line: "转向架配件".into(),
                planned_on: format!("{year}-12-16"),
                place: "长沙".into(),
                agenda: String::new(),
            },
            now,
        )
        .await?;
    Ok(())
}
