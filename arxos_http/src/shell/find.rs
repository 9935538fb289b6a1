//! `find` filters (`type=outlet`, `needs_repair`, `voltage>100`, `name~panel`) and the query
//! they become: a call of `arxos.find` with its own filters, plus conditions on its rows for
//! what it does not filter itself. User text only ever travels as bound parameters.

use serde_json::{Map, Value};

use super::error::ShellError;

/// The fields of an object a filter can name; any other name is a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Type,
    Status,
    Name,
    Health,
    NeedsRepair,
    Property(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

impl Op {
    fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "~",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub field: Field,
    pub op: Op,
    pub value: String,
}

/// Operators, longest first so that `>=` is not read as `>`.
const OPERATORS: &[(&str, Op)] = &[
    ("!=", Op::Ne),
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("=", Op::Eq),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("~", Op::Contains),
];

/// Reads one `find` argument: `Ok(None)` when it is not a filter (it is the path), an error
/// when it looks like a filter but is not a valid one. Words starting with `/` or `.` are
/// always paths.
pub fn parse_filter(word: &str) -> Result<Option<Filter>, ShellError> {
    if word.starts_with('/') || word.starts_with('.') {
        return Ok(None);
    }
    if word == "needs_repair" {
        return Ok(Some(Filter {
            field: Field::NeedsRepair,
            op: Op::Eq,
            value: "true".to_owned(),
        }));
    }
    // The first operator character splits key and value.
    let Some(at) = word.find(['!', '=', '<', '>', '~']) else {
        return Ok(None);
    };
    let (key, rest) = word.split_at(at);
    let Some((op_text, op)) = OPERATORS.iter().find(|(text, _)| rest.starts_with(text)) else {
        return Err(invalid(word, "use one of = != < <= > >= ~"));
    };
    let value = &rest[op_text.len()..];
    if key.is_empty() {
        return Err(invalid(word, "the name before the operator is missing"));
    }
    let field = match key {
        "type" => Field::Type,
        "status" => Field::Status,
        "name" => Field::Name,
        "health" => Field::Health,
        "needs_repair" => Field::NeedsRepair,
        other => Field::Property(
            other
                .strip_prefix("properties.")
                .unwrap_or(other)
                .to_owned(),
        ),
    };
    if matches!(&field, Field::Property(p) if p.is_empty()) {
        return Err(invalid(word, "the property name is missing"));
    }
    let op = *op;
    // An empty `~` matches every object: a mistake rather than a filter, as `type=` (empty)
    // is refused (found by an audit).
    if op == Op::Contains && value.is_empty() {
        return Err(invalid(
            word,
            "~ needs the text to look for: leave the filter out for every object",
        ));
    }
    match (&field, op) {
        (Field::Type | Field::Status | Field::Name, Op::Eq | Op::Ne | Op::Contains) => {}
        (Field::Type | Field::Status | Field::Name, _) => {
            return Err(invalid(word, &format!("{key} takes = != or ~")))
        }
        (Field::Health, Op::Contains) => return Err(invalid(word, "health takes = != < <= > >=")),
        (Field::Health, _) => {
            number(value).ok_or_else(|| invalid(word, &not_a_number(value)))?;
        }
        (Field::NeedsRepair, Op::Eq | Op::Ne) => {
            parse_bool(value).ok_or_else(|| invalid(word, "needs_repair is true or false"))?;
        }
        (Field::NeedsRepair, _) => return Err(invalid(word, "needs_repair takes = or !=")),
        (Field::Property(_), Op::Lt | Op::Le | Op::Gt | Op::Ge) => {
            number(value).ok_or_else(|| invalid(word, &not_a_number(value)))?;
        }
        (Field::Property(_), _) => {}
    }
    Ok(Some(Filter {
        field,
        op,
        value: value.to_owned(),
    }))
}

fn invalid(word: &str, why: &str) -> ShellError {
    ShellError::Invalid(format!("filter {word:?}: {why}"))
}

/// Why `text` is no number to compare with: out of range (`1e400`), or none at all.
fn not_a_number(text: &str) -> String {
    match text.trim().parse::<f64>() {
        Ok(n) if n.is_infinite() && !text.trim().to_ascii_lowercase().contains("inf") => {
            format!("{text:?} is out of range: compare with a number below 1e308 in magnitude")
        }
        _ => format!("{text:?} is not a number"),
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "yes" | "t" | "1" => Some(true),
        "false" | "no" | "f" | "0" => Some(false),
        _ => None,
    }
}

/// A property value as JSON: numbers, true, false and null as such, a JSON string literal
/// (`"120"`, typed `'"120"'`) as its string, anything else a string of the text.
fn json_value(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null | Value::String(_))) => v,
        _ => Value::String(text.to_owned()),
    }
}

/// A string property that reads as a number when it is one `numeric` accepts: at most 255 digits
/// either side of the point and an exponent of at most three digits, so that no stored string
/// (`"1e999999"`, a million digits) overflows the cast and fails the whole search (found by a
/// review); a longer one is not a number here. (255 is the most a bound of PostgreSQL's regular
/// expressions may be.)
const NUMERIC_TEXT: &str =
    r"'^\s*[-+]?([0-9]{1,255}(\.[0-9]{0,255})?|\.[0-9]{1,255})([eE][-+]?[0-9]{1,3})?\s*$'";

/// The `find` query: `arxos.find`'s own arguments and the extra conditions with their
/// parameters (numbered after the six fixed ones).
#[derive(Debug, Default, PartialEq)]
pub struct FindQuery {
    pub type_: Option<String>,
    pub status: Option<String>,
    pub props: Option<String>,
    pub needs_repair: Option<bool>,
    pub conditions: Vec<String>,
    pub params: Vec<String>,
    /// Statuses compared in `conditions` (`status!=x`, a second `status=`): checked like
    /// `arxos.find`'s own, so an unknown one is an error, not a filter that matches all.
    pub statuses_to_check: Vec<String>,
    /// Types compared in `conditions` (`type!=x`, a second `type=`), checked the same way: a
    /// type no object can have (` x`) is an error wherever it stands (found by an audit).
    pub types_to_check: Vec<String>,
}

/// Parameters `$1`..`$6`: building, under, type, status, props, needs_repair.
const FIXED_PARAMS: usize = 6;

impl FindQuery {
    pub fn build(filters: &[Filter]) -> FindQuery {
        let mut q = FindQuery::default();
        let mut props = Map::new();
        for f in filters {
            match (&f.field, f.op) {
                (Field::Type, Op::Eq) if q.type_.is_none() => q.type_ = Some(f.value.clone()),
                (Field::Status, Op::Eq) if q.status.is_none() => q.status = Some(f.value.clone()),
                (Field::NeedsRepair, op) if q.needs_repair.is_none() => {
                    let yes = parse_bool(&f.value).unwrap_or(true);
                    q.needs_repair = Some(if op == Op::Ne { !yes } else { yes });
                }
                (Field::NeedsRepair, op) => {
                    let yes = parse_bool(&f.value).unwrap_or(true) != (op == Op::Ne);
                    let p = q.param(yes.to_string());
                    q.conditions
                        .push(format!("o.needs_repair = {p}::text::boolean"));
                }
                (Field::Property(key), Op::Eq) if !props.contains_key(key) => {
                    props.insert(key.clone(), json_value(&f.value));
                }
                (Field::Type | Field::Status | Field::Name, op) => {
                    let column = match f.field {
                        Field::Type => "o.type",
                        Field::Status => "o.status",
                        _ => "o.name",
                    };
                    if op != Op::Contains {
                        match f.field {
                            Field::Status => q.statuses_to_check.push(f.value.clone()),
                            Field::Type => q.types_to_check.push(f.value.clone()),
                            _ => {}
                        }
                    }
                    let p = q.param(f.value.clone());
                    q.conditions.push(match op {
                        // The columns sort in "C", whose lower() folds ASCII only: `name~Äp`
                        // found no `Äpfel` (found by an audit). Fold as the typed text is.
                        Op::Contains => {
                            format!("strpos(lower({column} COLLATE \"default\"), lower({p})) > 0")
                        }
                        op => format!("{column} {} {p}", op.sql()),
                    });
                }
                (Field::Health, op) => {
                    let p = q.param(f.value.trim().to_owned());
                    q.conditions
                        .push(format!("o.health {} {p}::text::numeric", op.sql()));
                }
                (Field::Property(key), op) => {
                    let condition = match op {
                        Op::Eq | Op::Ne => {
                            let mut one = Map::new();
                            one.insert(key.clone(), json_value(&f.value));
                            let v = q.param(Value::Object(one).to_string());
                            let contains = format!("o.properties @> {v}::text::jsonb");
                            if op == Op::Eq {
                                contains
                            } else {
                                format!("NOT ({contains})")
                            }
                        }
                        Op::Contains => {
                            let k = q.param(key.clone());
                            let v = q.param(f.value.clone());
                            format!("strpos(lower(o.properties ->> {k}), lower({v})) > 0")
                        }
                        op => {
                            let k = q.param(key.clone());
                            let v = q.param(f.value.trim().to_owned());
                            // a JSON number as it is (a long one is no less a number); a
                            // string when it reads as one
                            format!(
                                "CASE WHEN jsonb_typeof(o.properties -> {k}) = 'number' \
                                 OR o.properties ->> {k} ~ {NUMERIC_TEXT} \
                                 THEN (o.properties ->> {k})::numeric END {} {v}::text::numeric",
                                op.sql()
                            )
                        }
                    };
                    q.conditions.push(condition);
                }
            }
        }
        if !props.is_empty() {
            q.props = Some(Value::Object(props).to_string());
        }
        q
    }

    /// Adds a text parameter and returns its placeholder.
    fn param(&mut self, value: String) -> String {
        self.params.push(value);
        format!("${}", FIXED_PARAMS + self.params.len())
    }

    /// The statement; at most `limit` rows of (path, type, status, needs_repair). Without
    /// conditions of its own, `arxos.find` stops at `limit` itself (it returns its rows as a
    /// set, which an outer LIMIT would cut only after the function had gathered every match:
    /// the whole subtree for `find /`; found by a review).
    pub fn sql(&self, limit: i64) -> String {
        let max = if self.conditions.is_empty() {
            format!(", max => {limit}")
        } else {
            String::new()
        };
        let mut sql = format!(
            "SELECT o.path::text, o.type, o.status, o.needs_repair \
               FROM arxos.find(building => $1, under => $2, type => $3, status => $4, \
                               props => $5::text::jsonb, needs_repair => $6{max}) o",
        );
        if !self.conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.conditions.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY o.path LIMIT {limit}"));
        sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(word: &str) -> Filter {
        parse_filter(word).expect("valid").expect("a filter")
    }

    #[test]
    fn reads_filters() {
        assert_eq!(
            filter("type=outlet"),
            Filter {
                field: Field::Type,
                op: Op::Eq,
                value: "outlet".into()
            }
        );
        assert_eq!(filter("voltage>=100").op, Op::Ge);
        assert_eq!(filter("voltage>100").op, Op::Gt);
        assert_eq!(filter("name~pan").op, Op::Contains);
        assert_eq!(filter("status!=failed").op, Op::Ne);
        assert_eq!(filter("needs_repair").field, Field::NeedsRepair);
        assert_eq!(
            filter("properties.type=x").field,
            Field::Property("type".into())
        );
        assert_eq!(filter("fault=").value, "");
        assert_eq!(parse_filter("circuits").unwrap(), None);
        assert_eq!(parse_filter("./a=b").unwrap(), None);
        assert_eq!(parse_filter("/a=b").unwrap(), None);
    }

    #[test]
    fn refuses_bad_filters() {
        for bad in [
            "=x",
            "voltage>abc",
            "voltage<",
            "type>3",
            "health~x",
            "needs_repair=maybe",
            "needs_repair>1",
            "a!b",
            "properties.=1",
            "health>inf",
            "type~",
            "voltage~",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad} should be refused");
        }
        // a number too large for a double is said to be one (found by an audit)
        let err = parse_filter("voltage>1e400").unwrap_err().to_string();
        assert!(err.contains("out of range"), "{err}");
        let err = parse_filter("voltage>inf").unwrap_err().to_string();
        assert!(err.contains("is not a number"), "{err}");
    }

    #[test]
    fn equalities_go_to_arxos_find() {
        let q = FindQuery::build(&[
            filter("type=outlet"),
            filter("status=failed"),
            filter("needs_repair"),
            filter("voltage=120"),
            filter("receptacle=NEMA 5-20R"),
        ]);
        assert_eq!(q.type_.as_deref(), Some("outlet"));
        assert_eq!(q.status.as_deref(), Some("failed"));
        assert_eq!(q.needs_repair, Some(true));
        let props: Value = serde_json::from_str(q.props.as_deref().unwrap()).unwrap();
        assert_eq!(
            props,
            serde_json::json!({"voltage": 120, "receptacle": "NEMA 5-20R"})
        );
        assert!(q.conditions.is_empty());
        assert!(!q.sql(10).contains("WHERE"));
        // arxos.find itself stops at the limit; with conditions after it, the outer LIMIT does.
        assert!(
            q.sql(10).contains("needs_repair => $6, max => 10)"),
            "{}",
            q.sql(10)
        );
        let q = FindQuery::build(&[filter("voltage>100")]);
        assert!(!q.sql(10).contains("max =>"), "{}", q.sql(10));
    }

    #[test]
    fn comparisons_become_parameterised_conditions() {
        let q = FindQuery::build(&[filter("voltage>100"), filter("name~x'); drop table t; --")]);
        assert_eq!(q.params, vec!["voltage", "100", "x'); drop table t; --"]);
        let sql = q.sql(1001);
        assert!(
            sql.contains("(o.properties ->> $7)::numeric END > $8::text::numeric"),
            "{sql}"
        );
        assert!(
            sql.contains("strpos(lower(o.name COLLATE \"default\"), lower($9)) > 0"),
            "{sql}"
        );
        assert!(
            !sql.contains("drop table"),
            "user text never reaches the SQL: {sql}"
        );
        assert!(sql.ends_with("LIMIT 1001"));
    }

    #[test]
    fn negations_and_repeats() {
        let q = FindQuery::build(&[
            filter("needs_repair=false"),
            filter("type=a"),
            filter("type!=b"),
            filter("fault!=none"),
            filter("health<50"),
        ]);
        assert_eq!(q.needs_repair, Some(false));
        assert_eq!(q.type_.as_deref(), Some("a"));
        assert_eq!(q.conditions[0], "o.type <> $7");
        assert_eq!(q.conditions[1], "NOT (o.properties @> $8::text::jsonb)");
        assert_eq!(q.params[1], r#"{"fault":"none"}"#);
        assert_eq!(q.conditions[2], "o.health < $9::text::numeric");
        // Every placeholder is used, in order: PostgreSQL needs each parameter's type.
        let sql = q.sql(5);
        for n in 7..=(6 + q.params.len()) {
            assert!(sql.contains(&format!("${n}")), "${n} unused in {sql}");
        }
    }
}
