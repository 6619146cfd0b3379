//! Questionnaire templates (F20): the list, and an editor of aspects and questions that saves
//! each change as a new version (older versions stay readable; answers keep theirs). Rows are
//! plain form fields: a cleared row is removed, the empty rows at the end add new ones.

use std::collections::HashMap;

use askama::Template as Askama;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Action;
use reqloop_domain::survey::{AspectDef, QuestionDef, Questionnaire, TemplateFields};
use reqloop_store::{Template, TemplateSummary};

use super::requirements::refusal;
use super::{error_page, field_messages, filters, may, render, Chrome, FormData};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::AppState;

#[derive(Askama)]
#[template(path = "survey_templates.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<TemplateSummary>,
    can_manage: bool,
}

pub async fn list(State(s): State<AppState>, u: PageUser) -> Response {
    if let Err(e) = u.actor.require(Action::SurveyRead) {
        return error_page(&u, e.into());
    }
    match s.store.list_templates(s.clock.now()).await {
        Ok(rows) => render(&ListPage {
            c: Chrome::new(&u, "surveys", u.t.t("survey.templates").to_string()),
            rows,
            can_manage: may(&u.actor, Action::SurveyManage),
        }),
        Err(e) => error_page(&u, e.into()),
    }
}

#[derive(Askama)]
#[template(path = "survey_template.html")]
struct EditPage {
    c: Chrome,
    notice: String,
    /// None while creating.
    t: Option<Template>,
    /// An older version being read: its number and questionnaire.
    old: Option<(i64, Questionnaire)>,
    name: String,
    version: i64,
    /// `[code, name_zh, name_en]`.
    aspects: Vec<[String; 3]>,
    /// `[code, aspect, text_zh, text_en]`.
    questions: Vec<[String; 4]>,
    errors: HashMap<String, String>,
    can_manage: bool,
}

impl EditPage {
    fn err(&self, f: &str) -> &str {
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn action(&self) -> String {
        match &self.t {
            Some(t) => format!("/survey-templates/{}", t.id),
            None => "/survey-templates".into(),
        }
    }
}

/// The editor's rows for a questionnaire, with empty rows to add to.
fn rows_of(q: &Questionnaire) -> (Vec<[String; 3]>, Vec<[String; 4]>) {
    let mut aspects: Vec<[String; 3]> = q
        .aspects
        .iter()
        .map(|a| [a.code.clone(), a.name_zh.clone(), a.name_en.clone()])
        .collect();
    let mut questions: Vec<[String; 4]> = q
        .questions
        .iter()
        .map(|x| {
            [
                x.code.clone(),
                x.aspect.clone(),
                x.text_zh.clone(),
                x.text_en.clone(),
            ]
        })
        .collect();
    aspects.extend(std::iter::repeat_with(Default::default).take(2));
    questions.extend(std::iter::repeat_with(Default::default).take(3));
    (aspects, questions)
}

/// The rows as posted (every row kept, so the form shows what was typed).
fn posted_rows(form: &FormData) -> (Vec<[String; 3]>, Vec<[String; 4]>) {
    let col = |k: &str| form.all(k);
    let (ac, az, ae) = (col("a_code"), col("a_zh"), col("a_en"));
    let aspects = (0..ac.len())
        .map(|i| {
            let at = |v: &Vec<String>| v.get(i).cloned().unwrap_or_default();
            [at(&ac), at(&az), at(&ae)]
        })
        .collect();
    let (qc, qa, qz, qe) = (col("q_code"), col("q_aspect"), col("q_zh"), col("q_en"));
    let questions = (0..qc.len())
        .map(|i| {
            let at = |v: &Vec<String>| v.get(i).cloned().unwrap_or_default();
            [at(&qc), at(&qa), at(&qz), at(&qe)]
        })
        .collect();
    (aspects, questions)
}

/// The questionnaire of the non-empty rows, and the form row of each kept aspect / question
/// (to show an error of `aspects[i]` next to its row).
fn questionnaire_of(
    aspects: &[[String; 3]],
    questions: &[[String; 4]],
) -> (Questionnaire, Vec<usize>, Vec<usize>) {
    let blank = |r: &[String]| r.iter().all(|v| v.trim().is_empty());
    let mut q = Questionnaire {
        aspects: Vec::new(),
        questions: Vec::new(),
    };
    let (mut ai, mut qi) = (Vec::new(), Vec::new());
    for (i, r) in aspects.iter().enumerate().filter(|(_, r)| !blank(&r[..])) {
        ai.push(i);
        q.aspects.push(AspectDef {
            code: r[0].trim().to_string(),
            name_zh: r[1].clone(),
            name_en: r[2].clone(),
        });
    }
    for (i, r) in questions.iter().enumerate().filter(|(_, r)| !blank(&r[..])) {
        qi.push(i);
        q.questions.push(QuestionDef {
            code: r[0].trim().to_string(),
            aspect: r[1].trim().to_string(),
            text_zh: r[2].clone(),
            text_en: r[3].clone(),
        });
    }
    (q, ai, qi)
}

/// `aspects[2].code` → `a5.code` (the form row), so errors show beside their row.
fn row_errors(
    t: &crate::i18n::Tr,
    e: &reqloop_domain::FieldErrors,
    ai: &[usize],
    qi: &[usize],
) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (field, msg) in field_messages(t, e) {
        let mapped = ["aspects", "questions"]
            .iter()
            .zip([ai, qi])
            .find_map(|(list, rows)| {
                let rest = field.strip_prefix(list)?.strip_prefix('[')?;
                let (i, tail) = rest.split_once(']')?;
                let row = rows.get(i.parse::<usize>().ok()?)?;
                Some(format!("{}{row}{tail}", &list[..1]))
            })
            .unwrap_or(field);
        out.entry(mapped).or_insert(msg);
    }
    out
}

pub async fn new(State(_s): State<AppState>, u: PageUser) -> Response {
    if let Err(e) = u.actor.require(Action::SurveyManage) {
        return error_page(&u, e.into());
    }
    let (aspects, questions) = rows_of(&reqloop_domain::survey::default_questionnaire());
    render(&EditPage {
        c: Chrome::new(&u, "surveys", u.t.t("survey.template_new").to_string()),
        notice: String::new(),
        t: None,
        old: None,
        name: String::new(),
        version: 0,
        aspects,
        questions,
        errors: HashMap::new(),
        can_manage: true,
    })
}

pub async fn show(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let loaded = async {
        u.actor.require(Action::SurveyRead)?;
        let t = s.store.get_template(id).await?;
        let old = match q.get("v").and_then(|v| v.parse::<i64>().ok()) {
            Some(n) if n != t.current_version => Some((n, s.store.questionnaire(id, n).await?)),
            _ => None,
        };
        Ok::<_, AppError>((t, old))
    }
    .await;
    match loaded {
        Ok((t, old)) => {
            let (aspects, questions) = rows_of(&t.questionnaire);
            render(&EditPage {
                c: Chrome::new(&u, "surveys", t.name.clone()),
                notice: String::new(),
                name: t.name.clone(),
                version: t.version,
                t: Some(t),
                old,
                aspects,
                questions,
                errors: HashMap::new(),
                can_manage: may(&u.actor, Action::SurveyManage),
            })
        }
        Err(e) => error_page(&u, e),
    }
}

/// Creates a template (no id) or saves the next version of one.
async fn save(s: &AppState, u: &PageUser, id: Option<i64>, form: FormData) -> Response {
    if let Err(e) = u.actor.require(Action::SurveyManage) {
        return error_page(u, e.into());
    }
    let (aspects, questions) = posted_rows(&form);
    let (questionnaire, ai, qi) = questionnaire_of(&aspects, &questions);
    let f = TemplateFields {
        name: form.get("name"),
        questionnaire,
        version: form.get("version").parse().unwrap_or(-1),
    };
    let now = s.clock.now();
    let result = match id {
        None => s.store.create_template(&u.actor, f, now).await,
        Some(id) => s.store.update_template(&u.actor, id, f, now).await,
    };
    let (status, notice, errors) = match result {
        Ok(t) => return Redirect::to(&format!("/survey-templates/{}", t.id)).into_response(),
        Err(reqloop_store::Error::Invalid(e)) => (
            StatusCode::BAD_REQUEST,
            u.t.t("form.fix_errors").to_string(),
            row_errors(&u.t, &e, &ai, &qi),
        ),
        Err(e) => {
            let e = AppError::from(e);
            (e.status, refusal(&u.t, &e), HashMap::new())
        }
    };
    let t = match id {
        Some(id) => match s.store.get_template(id).await {
            Ok(t) => Some(t),
            Err(e) => return error_page(u, e.into()),
        },
        None => None,
    };
    let page = EditPage {
        c: Chrome::new(u, "surveys", u.t.t("survey.templates").to_string()),
        notice,
        t,
        old: None,
        name: form.get("name"),
        version: form.get("version").parse().unwrap_or(0),
        aspects,
        questions,
        errors,
        can_manage: true,
    };
    (status, render(&page)).into_response()
}

pub async fn create(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    save(&s, &u, None, form).await
}

pub async fn update(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    save(&s, &u, Some(id), form).await
}
