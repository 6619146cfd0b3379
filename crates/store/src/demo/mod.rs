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
use reqloop_domain::ids::UserId;
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
    let mut portal = new_user("portal", "客户门户演示", DEMO_PASSWORD, Role::Portal);
    portal.customer_id = first_customer;
    users.push(store.create_user(&system, portal, now).await?);
    Ok(Loaded::Loaded {
        users: users.len(),
        customers: data::COMPANIES.len(),
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
