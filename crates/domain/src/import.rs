//! Import of spreadsheets (F29, 003§6.2): which columns each kind takes, how a header row is
//! read, and how one row's cells become the fields the rest of the system validates. Readers
//! (CSV, xlsx) turn bytes into [`Cell`]s; storage resolves references and writes. A file either
//! imports whole or not at all, so every problem is reported with its row and column.

use chrono::NaiveDate;

use crate::customer::{BusinessStatus, CompanySize, ContactFields, CustomerFields, Grade, Tier};
use crate::fields::FieldErrors;
use crate::ids::CustomerId;
use crate::order::{DeliveryBatch, OrderFields};
use crate::requirement::{
    Category, Channel, Kind, Nature, RequirementFields, SubCategory, Urgency,
};

closed_set!(
    /// What a file holds.
    ImportKind { Customers => "customers", Contacts => "contacts", Requirements => "requirements", Orders => "orders" }
);

/// One column a kind takes: the field it fills (the name validation errors use), its header
/// (an i18n key; the file may use the Chinese or English label or the field name), whether a
/// row must fill it, and a sample value for the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub field: &'static str,
    pub label: &'static str,
    pub required: bool,
    pub sample: &'static str,
}

const fn col(
    field: &'static str,
    label: &'static str,
    required: bool,
    sample: &'static str,
) -> Column {
    Column {
        field,
        label,
        required,
        sample,
    }
}

/// The key column every kind but orders carries: the record's id in the system the file came
/// from. Re-importing a row whose key is already on file changes nothing.
pub const KEY: &str = "external_key";

const CUSTOMERS: &[Column] = &[
    col(KEY, "import.external_key", true, "ERP-C-0001"),
    col("name", "customer.name", true, "常州恒通精密机械有限公司"),
    col("short_name", "customer.short_name", false, "恒远轨道"),
    col("industry", "customer.industry", false, "轨道交通"),
    col("application", "customer.application", false, "牵引变流器"),
    col("province", "customer.province", false, "江苏"),
    col("city", "customer.city", false, "常州"),
    col("address", "customer.address", false, "武进区常武中路18号"),
    col("phone", "customer.phone", false, "0519-86001234"),
    col("company_size", "customer.company_size", false, "大型"),
    col(
        "business_status",
        "customer.business_status",
        false,
        "正常经营",
    ),
    col(
        "annual_revenue",
        "customer.annual_revenue",
        false,
        "12000000",
    ),
    col("grade", "customer.grade", false, "A"),
    col("tier", "customer.tier", false, "重点客户"),
    col(
        "account_manager",
        "customer.account_manager",
        false,
        "zhangwei",
    ),
    col("remarks", "customer.remarks", false, ""),
];

const CONTACTS: &[Column] = &[
    col(KEY, "import.external_key", true, "ERP-P-0001"),
    col("customer", "import.customer_ref", true, "ERP-C-0001"),
    col("name", "contact.name", true, "王立新"),
    col("title", "contact.job_title", false, "采购经理"),
    col("phone", "contact.phone", false, "13812345678"),
    col("email", "contact.email", false, "wang@example.com"),
    col("wechat", "contact.wechat", false, ""),
    col("primary", "contact.primary", false, "是"),
];

const REQUIREMENTS: &[Column] = &[
    col(KEY, "import.external_key", true, "CRM-R-0001"),
    col("customer", "import.customer_ref", true, "ERP-C-0001"),
    col("title", "req.title", true, "牵引电机交期缩短至30天"),
    col(
        "description",
        "req.description",
        false,
        "客户要求第三季度批量订单交期延误不超过3天",
    ),
    col("channel", "req.channel", true, "拜访"),
    col("category", "req.category", true, "产品"),
    col("sub_category", "req.sub_category", false, "交期与数量"),
    col("nature", "req.nature", true, "功能性"),
    col("kind", "req.kind", true, "明示"),
    col("urgency", "req.urgency", true, "重要"),
    col("source_person", "req.source_person", false, "王立新"),
    col("collected_on", "req.collected_on", false, "2026-03-05"),
];

const ORDERS: &[Column] = &[
    col("contract", "import.contract_ref", true, "HT-2026-001"),
    col("number", "import.order_number", true, "PO-2026-0001"),
    col("delivery[0].quantity", "import.quantity", true, "120"),
    col(
        "delivery[0].promised_on",
        "import.promised_on",
        true,
        "2026-06-30",
    ),
];

impl ImportKind {
    pub fn columns(self) -> &'static [Column] {
        match self {
            ImportKind::Customers => CUSTOMERS,
            ImportKind::Contacts => CONTACTS,
            ImportKind::Requirements => REQUIREMENTS,
            ImportKind::Orders => ORDERS,
        }
    }
}

/// The zh-CN and English label of an i18n key; the edge supplies it from its catalogues.
pub type Labels<'a> = &'a (dyn Fn(&str) -> [&'static str; 2] + Sync);

/// One cell as a reader found it. Spreadsheet cells keep their type so a date or a number is
/// not guessed from text; CSV cells are all text.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    Date(NaiveDate),
    /// A cell holding a formula: refused, as its value depends on what Excel last computed.
    Formula,
    /// A cell inside a merged range other than its top-left one.
    Merged,
    /// `#N/A`, `#DIV/0!` and the like.
    Error,
}

/// A problem with one cell (or, with `column` unset, with the whole row or file). `code` is
/// an i18n suffix, as in [`crate::FieldError`]: `err.<code>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// 1-based, as a spreadsheet numbers rows; the header is row 1.
    pub row: u64,
    /// The column's header label key, when the problem is in one cell.
    pub column: Option<&'static str>,
    pub code: &'static str,
    /// The offending value or a hint (a duplicate's first row, an unknown header), shown as is.
    pub detail: String,
}

/// Which file column fills which of the kind's columns, read from the header row.
#[derive(Debug, Clone)]
pub struct Header {
    kind: ImportKind,
    /// For each of the kind's columns, the file column holding it.
    at: Vec<Option<usize>>,
}

/// Headers compare without spaces, a leading or trailing `*` (the template marks required
/// columns so) and case; full-width parentheses count as ASCII ones.
fn normalize(h: &str) -> String {
    h.trim()
        .trim_matches('*')
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

impl Header {
    /// Reads the header row: every required column must be there, none twice, and no column
    /// the kind does not know (a misspelt header would otherwise drop its data unseen).
    pub fn read(
        kind: ImportKind,
        cells: &[Cell],
        labels: Labels,
    ) -> Result<Header, Vec<CellError>> {
        let columns = kind.columns();
        let mut at = vec![None; columns.len()];
        let mut errors = Vec::new();
        let problem = |code, detail: String| CellError {
            row: 1,
            column: None,
            code,
            detail,
        };
        for (i, cell) in cells.iter().enumerate() {
            let text = match cell {
                Cell::Text(s) => s.as_str(),
                Cell::Empty => continue,
                _ => {
                    errors.push(problem("import_header_text", format!("{}", i + 1)));
                    continue;
                }
            };
            let name = normalize(text);
            if name.is_empty() {
                continue;
            }
            let found = columns.iter().position(|c| {
                let [zh, en] = labels(c.label);
                name == normalize(c.field) || name == normalize(zh) || name == normalize(en)
            });
            match found {
                Some(c) if at[c].is_some() => {
                    errors.push(problem("import_duplicate_column", text.trim().to_string()))
                }
                Some(c) => at[c] = Some(i),
                None => errors.push(problem("import_unknown_column", text.trim().to_string())),
            }
        }
        for (c, column) in columns.iter().enumerate() {
            if column.required && at[c].is_none() {
                errors.push(CellError {
                    row: 1,
                    column: Some(column.label),
                    code: "import_missing_column",
                    detail: labels(column.label)[0].to_string(),
                });
            }
        }
        if errors.is_empty() {
            Ok(Header { kind, at })
        } else {
            Err(errors)
        }
    }

    pub fn kind(&self) -> ImportKind {
        self.kind
    }
}

/// A customer row: its key, its fields and the login name of its account manager.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRow {
    pub key: String,
    pub fields: CustomerFields,
    pub account_manager: Option<String>,
}

/// A reference to a customer already on file: its code in this system or its external key.
pub type CustomerRef = String;

#[derive(Debug, Clone, PartialEq)]
pub struct ContactRow {
    pub key: String,
    pub customer: CustomerRef,
    pub fields: ContactFields,
}

/// A requirement row; `fields.customer_id` is filled in once storage resolves `customer`.
#[derive(Debug, Clone, PartialEq)]
pub struct RequirementRow {
    pub key: String,
    pub customer: CustomerRef,
    pub fields: RequirementFields,
}

/// An order of a contract (by its number) with one delivery batch; the contract and the order
/// number together are the key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRow {
    pub contract: String,
    pub fields: OrderFields,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Customer(CustomerRow),
    Contact(ContactRow),
    Requirement(RequirementRow),
    Order(OrderRow),
}

impl Row {
    /// What makes the row the same record on a second import.
    pub fn key(&self) -> String {
        match self {
            Row::Customer(r) => r.key.clone(),
            Row::Contact(r) => r.key.clone(),
            Row::Requirement(r) => r.key.clone(),
            Row::Order(r) => format!("{}\u{1f}{}", r.contract, r.fields.number),
        }
    }
}

/// Reads one row's cells; `row` is its 1-based number in the file. A row is blank when every
/// cell is empty; the caller skips those.
pub fn parse_row(
    header: &Header,
    row: u64,
    cells: &[Cell],
    labels: Labels,
) -> Result<Row, Vec<CellError>> {
    let mut r = Reader {
        header,
        row,
        cells,
        labels,
        errors: Vec::new(),
    };
    let parsed = match header.kind {
        ImportKind::Customers => r.customer().map(Row::Customer),
        ImportKind::Contacts => r.contact().map(Row::Contact),
        ImportKind::Requirements => r.requirement().map(Row::Requirement),
        ImportKind::Orders => r.order().map(Row::Order),
    };
    match parsed {
        Some(row) if r.errors.is_empty() => Ok(row),
        _ => Err(r.errors),
    }
}

/// Whether a row has nothing in it (trailing blank lines, a spreadsheet's formatted but empty
/// rows).
pub fn is_blank(cells: &[Cell]) -> bool {
    cells.iter().all(|c| match c {
        Cell::Empty => true,
        Cell::Text(s) => s.trim().is_empty(),
        _ => false,
    })
}

struct Reader<'a> {
    header: &'a Header,
    row: u64,
    cells: &'a [Cell],
    labels: Labels<'a>,
    errors: Vec<CellError>,
}

impl Reader<'_> {
    fn column(&self, field: &str) -> Option<(usize, &'static Column)> {
        let columns = self.header.kind.columns();
        let c = columns.iter().position(|c| c.field == field)?;
        Some((c, &columns[c]))
    }

    fn fail(&mut self, field: &str, code: &'static str, detail: String) {
        let column = self.column(field).map(|(_, c)| c.label);
        // The cell reader and the kind's validation may both find a required cell empty.
        if self
            .errors
            .iter()
            .any(|e| e.column == column && e.code == code)
        {
            return;
        }
        self.errors.push(CellError {
            row: self.row,
            column,
            code,
            detail,
        });
    }

    fn cell(&self, field: &str) -> &Cell {
        self.column(field)
            .and_then(|(c, _)| self.header.at[c])
            .and_then(|i| self.cells.get(i))
            .unwrap_or(&Cell::Empty)
    }

    /// The cell as text: numbers without a spurious `.0` (Excel stores telephone numbers and
    /// codes typed as numbers), dates as `YYYY-MM-DD`.
    fn text(&mut self, field: &str) -> String {
        let value = match self.cell(field) {
            Cell::Empty => Ok(String::new()),
            Cell::Text(s) => Ok(s.trim().to_string()),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => Ok(format!("{}", *n as i64)),
            Cell::Number(n) => Ok(n.to_string()),
            Cell::Bool(b) => Ok(if *b { "是" } else { "否" }.to_string()),
            Cell::Date(d) => Ok(d.format("%Y-%m-%d").to_string()),
            Cell::Formula => Err("import_formula"),
            Cell::Merged => Err("import_merged"),
            Cell::Error => Err("import_cell_error"),
        };
        match value {
            Ok(s) => {
                let required = self.column(field).is_some_and(|(_, c)| c.required);
                if required && s.is_empty() {
                    self.fail(field, "required", String::new());
                }
                s
            }
            Err(code) => {
                self.fail(field, code, String::new());
                String::new()
            }
        }
    }

    /// A value of a closed set, given as its identifier or its Chinese or English label.
    fn choice<T: Copy + std::str::FromStr>(
        &mut self,
        field: &str,
        prefix: &str,
        all: &[T],
        name: fn(T) -> &'static str,
    ) -> Option<T> {
        let raw = self.text(field);
        if raw.is_empty() {
            return None;
        }
        let wanted = normalize(&raw);
        let found = all.iter().copied().find(|v| {
            let id = name(*v);
            let [zh, en] = (self.labels)(&format!("{prefix}.{id}"));
            wanted == normalize(id) || wanted == normalize(zh) || wanted == normalize(en)
        });
        if found.is_none() {
            self.fail(field, "import_choice", raw);
        }
        found
    }

    /// A date: a spreadsheet date, an Excel day number, or text as `2026-03-05`, `2026/3/5`,
    /// `2026.3.5`, `20260305` or `2026年3月5日`.
    fn date(&mut self, field: &str) -> String {
        let parsed = match self.cell(field).clone() {
            Cell::Empty => return String::new(),
            Cell::Date(d) => Some(d),
            Cell::Number(n) => excel_day(n),
            Cell::Text(s) if s.trim().is_empty() => return String::new(),
            Cell::Text(s) => parse_date(&s),
            _ => return self.text(field),
        };
        match parsed {
            Some(d) => d.format("%Y-%m-%d").to_string(),
            None => {
                let raw = self.text(field);
                self.fail(field, "import_date", raw);
                String::new()
            }
        }
    }

    /// A whole number; thousands separators are fine.
    fn integer(&mut self, field: &str) -> Option<i64> {
        let parsed = match self.cell(field).clone() {
            Cell::Empty => return None,
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 9e15 => Some(n as i64),
            Cell::Text(s) if s.trim().is_empty() => return None,
            Cell::Text(s) => s.trim().replace([',', '，'], "").parse::<i64>().ok(),
            _ => {
                self.text(field);
                return None;
            }
        };
        if parsed.is_none() {
            let raw = self.text(field);
            self.fail(field, "import_number", raw);
        }
        parsed
    }

    fn flag(&mut self, field: &str) -> bool {
        if let Cell::Bool(b) = self.cell(field) {
            return *b;
        }
        let raw = self.text(field);
        match normalize(&raw).as_str() {
            "" | "否" | "n" | "no" | "false" | "0" | "×" => false,
            "是" | "y" | "yes" | "true" | "1" | "√" | "✓" => true,
            _ => {
                self.fail(field, "import_flag", raw);
                false
            }
        }
    }

    /// Field errors from the kind's own validation, placed in their columns.
    fn validated(&mut self, result: Result<(), FieldErrors>) {
        if let Err(errors) = result {
            for e in errors.0 {
                self.fail(&e.field, e.code, String::new());
            }
        }
    }

    fn customer(&mut self) -> Option<CustomerRow> {
        let key = self.text(KEY);
        let mut fields = CustomerFields {
            name: self.text("name"),
            short_name: self.text("short_name"),
            industry: self.text("industry"),
            application: self.text("application"),
            province: province(self.text("province")),
            city: self.text("city"),
            address: self.text("address"),
            phone: self.text("phone"),
            company_size: self.choice(
                "company_size",
                "size",
                CompanySize::ALL,
                CompanySize::as_str,
            ),
            business_status: self
                .choice(
                    "business_status",
                    "status",
                    BusinessStatus::ALL,
                    BusinessStatus::as_str,
                )
                .unwrap_or(BusinessStatus::Operating),
            annual_revenue: self.integer("annual_revenue").unwrap_or(0),
            grade: self
                .choice("grade", "grade", Grade::ALL, Grade::as_str)
                .unwrap_or(Grade::C),
            tier: self
                .choice("tier", "tier", Tier::ALL, Tier::as_str)
                .unwrap_or(Tier::General),
            account_manager_id: None,
            team: vec![],
            tags: vec![],
            risk_flags: vec![],
            remarks: self.text("remarks"),
            confidential: None,
        };
        let manager = self.text("account_manager");
        let valid = fields.validate();
        self.validated(valid);
        self.key_checked(&key);
        Some(CustomerRow {
            key,
            fields,
            account_manager: (!manager.is_empty()).then_some(manager),
        })
    }

    fn contact(&mut self) -> Option<ContactRow> {
        let key = self.text(KEY);
        let customer = self.text("customer");
        let mut fields = ContactFields {
            name: self.text("name"),
            title: self.text("title"),
            phone: self.text("phone"),
            email: self.text("email"),
            wechat: self.text("wechat"),
            primary: self.flag("primary"),
        };
        let valid = fields.validate();
        self.validated(valid);
        self.key_checked(&key);
        Some(ContactRow {
            key,
            customer,
            fields,
        })
    }

    fn requirement(&mut self) -> Option<RequirementRow> {
        let key = self.text(KEY);
        let customer = self.text("customer");
        let title = self.text("title");
        let description = self.text("description");
        let channel = self.choice("channel", "channel", Channel::ALL, Channel::as_str);
        let category = self.choice("category", "category", Category::ALL, Category::as_str);
        let sub_category = self.choice(
            "sub_category",
            "subcat",
            SubCategory::ALL,
            SubCategory::as_str,
        );
        let nature = self.choice("nature", "nature", Nature::ALL, Nature::as_str);
        let kind = self.choice("kind", "kind", Kind::ALL, Kind::as_str);
        let urgency = self.choice("urgency", "urgency", Urgency::ALL, Urgency::as_str);
        let source_person = self.text("source_person");
        let collected_on = self.date("collected_on");
        self.key_checked(&key);
        let mut fields = RequirementFields {
            customer_id: CustomerId(0),
            project_id: None,
            title,
            description,
            channel: channel?,
            category: category?,
            sub_category,
            nature: nature?,
            kind: kind?,
            urgency: urgency?,
            source_person,
            collected_on,
            feasibility_technical: None,
            feasibility_economic: None,
            feasibility_time: None,
            feasibility_note: String::new(),
            value_score: None,
        };
        let valid = fields.validate();
        self.validated(valid);
        Some(RequirementRow {
            key,
            customer,
            fields,
        })
    }

    fn order(&mut self) -> Option<OrderRow> {
        let contract = self.text("contract");
        let number = self.text("number");
        let quantity = self.integer("delivery[0].quantity");
        let promised_on = self.date("delivery[0].promised_on");
        if quantity.is_none()
            && !self
                .errors
                .iter()
                .any(|e| e.column == Some("import.quantity"))
        {
            self.fail("delivery[0].quantity", "required", String::new());
        }
        if promised_on.is_empty()
            && !self
                .errors
                .iter()
                .any(|e| e.column == Some("import.promised_on"))
        {
            self.fail("delivery[0].promised_on", "required", String::new());
        }
        let mut fields = OrderFields {
            number,
            delivery: vec![DeliveryBatch {
                quantity: quantity.unwrap_or(0),
                promised_on,
            }],
            production: vec![],
        };
        let valid = fields.validate();
        if self.errors.is_empty() {
            self.validated(valid);
        }
        Some(OrderRow { contract, fields })
    }

    /// External keys are codes: printable, without spaces inside, at most 64 characters.
    fn key_checked(&mut self, key: &str) {
        if !key.is_empty()
            && (key.chars().count() > 64
                || key.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            self.fail(KEY, "import_key", key.to_string());
        }
    }
}

/// A province as people write it: "江苏" for 江苏省, "内蒙古" for 内蒙古自治区.
fn province(name: String) -> String {
    if name.chars().count() < 2 || crate::region::province(&name).is_some() {
        return name;
    }
    let mut found = crate::region::PROVINCES
        .iter()
        .filter(|p| p.0.starts_with(name.as_str()));
    match (found.next(), found.next()) {
        (Some(p), None) => p.0.to_string(),
        _ => name,
    }
}

/// Excel counts days from 1899-12-30 (its 1900 leap-year bug folded in); only whole days in a
/// plausible range are dates.
pub fn excel_day(n: f64) -> Option<NaiveDate> {
    if !(1.0..=2_958_465.0).contains(&n) {
        return None;
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(n.floor() as u64))
}

/// Dates as Chinese offices type them.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let s = s.split([' ', 'T']).next().unwrap_or(s);
    let unified: String = s
        .trim_end_matches('日')
        .chars()
        .map(|c| match c {
            '/' | '.' | '年' | '月' => '-',
            c => c,
        })
        .collect();
    if let Ok(d) = NaiveDate::parse_from_str(&unified, "%Y-%m-%d") {
        return Some(d);
    }
    if unified.len() == 8 && unified.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(&unified, "%Y%m%d").ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(key: &str) -> [&'static str; 2] {
        match key {
            "import.external_key" => ["外部编号", "External key"],
            "import.customer_ref" => ["客户", "Customer"],
            "req.title" => ["需求标题", "Title"],
            "req.channel" => ["来源渠道", "Channel"],
            "req.category" => ["类别", "Category"],
            "req.nature" => ["性质", "Nature"],
            "req.kind" => ["类型", "Kind"],
            "req.urgency" => ["紧急程度", "Urgency"],
            "req.collected_on" => ["收集日期", "Collected on"],
            "channel.visit" => ["拜访", "Visit"],
            "category.product" => ["产品", "Product"],
            "nature.functional" => ["功能性", "Functional"],
            "kind.stated" => ["明示", "Stated"],
            "urgency.urgent" => ["紧急", "Urgent"],
            "urgency.important" => ["重要", "Important"],
            "contact.name" => ["姓名", "Name"],
            "contact.primary" => ["主要联系人", "Primary contact"],
            _ => ["", ""],
        }
    }

    fn text(v: &[&str]) -> Vec<Cell> {
        v.iter().map(|s| Cell::Text(s.to_string())).collect()
    }

    fn requirement_header() -> Header {
        let h = text(&[
            "外部编号*",
            "客户*",
            "需求标题",
            "Channel",
            "类别",
            "nature",
            "类型",
            "紧急程度",
            "收集日期",
        ]);
        Header::read(ImportKind::Requirements, &h, &labels).unwrap()
    }

    #[test]
    fn headers_match_chinese_english_or_field_names() {
        let header = requirement_header();
        let row = text(&[
            "R1",
            "KH001",
            "交期缩短",
            "拜访",
            "product",
            "功能性",
            "Stated",
            "紧急",
            "2026年3月5日",
        ]);
        let Row::Requirement(r) = parse_row(&header, 2, &row, &labels).unwrap() else {
            panic!("a requirement row")
        };
        assert_eq!((r.key.as_str(), r.customer.as_str()), ("R1", "KH001"));
        assert_eq!(r.fields.urgency, Urgency::Urgent);
        assert_eq!(r.fields.collected_on, "2026-03-05");
    }

    #[test]
    fn a_missing_required_column_and_an_unknown_one_are_reported_on_row_one() {
        let h = text(&["外部编号", "客户", "标题X"]);
        let errors = Header::read(ImportKind::Requirements, &h, &labels).unwrap_err();
        assert!(errors
            .iter()
            .any(|e| e.code == "import_unknown_column" && e.detail == "标题X"));
        assert!(errors
            .iter()
            .any(|e| e.code == "import_missing_column" && e.column == Some("req.title")));
        assert!(errors.iter().all(|e| e.row == 1));
    }

    #[test]
    fn every_bad_cell_of_a_row_is_reported_with_its_column() {
        let header = requirement_header();
        let mut row = text(&[
            "R 1",
            "KH001",
            "",
            "传真",
            "产品",
            "功能性",
            "明示",
            "紧急",
            "下周三",
        ]);
        row[1] = Cell::Formula;
        let errors = parse_row(&header, 7, &row, &labels).unwrap_err();
        let found: Vec<(Option<&str>, &str)> = errors.iter().map(|e| (e.column, e.code)).collect();
        assert!(found.contains(&(Some("import.external_key"), "import_key")));
        assert!(found.contains(&(Some("import.customer_ref"), "import_formula")));
        assert!(found.contains(&(Some("req.title"), "required")));
        assert!(found.contains(&(Some("req.channel"), "import_choice")));
        assert!(found.contains(&(Some("req.collected_on"), "import_date")));
        assert!(errors.iter().all(|e| e.row == 7));
    }

    #[test]
    fn dates_in_text_and_excel_day_numbers() {
        let d = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        for s in [
            "2026-10-01",
            "2026/10/1",
            "2026.10.01",
            "20261001",
            "2026年10月1日",
            "2026-10-01 08:00:00",
        ] {
            assert_eq!(parse_date(s), Some(d), "{s}");
        }
        assert_eq!(parse_date("10/01/2026"), None);
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(excel_day(46296.0), Some(d));
        assert_eq!(excel_day(-3.0), None);
    }

    #[test]
    fn numbers_typed_into_text_columns_lose_no_digits() {
        let h = text(&["外部编号", "客户", "姓名", "主要联系人"]);
        let header = Header::read(ImportKind::Contacts, &h, &labels).unwrap();
        let row = vec![
            Cell::Number(1001.0),
            Cell::Number(13812345678.0),
            Cell::Text("王立新".into()),
            Cell::Text("是".into()),
        ];
        let Row::Contact(c) = parse_row(&header, 2, &row, &labels).unwrap() else {
            panic!("a contact row")
        };
        assert_eq!(
            (c.key.as_str(), c.customer.as_str()),
            ("1001", "13812345678")
        );
        assert!(c.fields.primary);
    }

    #[test]
    fn merged_and_error_cells_are_refused() {
        let h = text(&["外部编号", "客户", "姓名"]);
        let header = Header::read(ImportKind::Contacts, &h, &labels).unwrap();
        let row = vec![Cell::Text("P1".into()), Cell::Merged, Cell::Error];
        let codes: Vec<&str> = parse_row(&header, 3, &row, &labels)
            .unwrap_err()
            .iter()
            .map(|e| e.code)
            .collect();
        assert!(
            codes.contains(&"import_merged") && codes.contains(&"import_cell_error"),
            "{codes:?}"
        );
    }

    #[test]
    fn blank_rows_are_recognised() {
        assert!(is_blank(&[Cell::Empty, Cell::Text("  ".into())]));
        assert!(!is_blank(&[Cell::Empty, Cell::Number(0.0)]));
    }
}
