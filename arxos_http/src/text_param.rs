//! Parameters sent to Postgres in text format, for it to parse as whatever type the statement
//! gives them: the values of `POST /api/query`'s `params`, and JSON fields bound to functions
//! whose argument types the shim does not restate.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use serde_json::Value;
use tokio_postgres::types::{to_sql_checked, Format, IsNull, ToSql, Type};

/// A parameter sent in text format, for Postgres to parse as whatever type the query gives it.
#[derive(Debug)]
pub struct TextParam(pub Option<String>);

impl TextParam {
    pub fn from_json(value: &Value) -> TextParam {
        TextParam(match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            other => Some(other.to_string()),
        })
    }
}

impl ToSql for TextParam {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match &self.0 {
            Some(text) => {
                out.put_slice(text.as_bytes());
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_params_become_text() {
        assert_eq!(
            TextParam::from_json(&serde_json::json!(1.5)).0.as_deref(),
            Some("1.5")
        );
        assert_eq!(
            TextParam::from_json(&serde_json::json!(true)).0.as_deref(),
            Some("true")
        );
        assert_eq!(
            TextParam::from_json(&serde_json::json!("b42")).0.as_deref(),
            Some("b42")
        );
        assert_eq!(TextParam::from_json(&Value::Null).0, None);
        assert_eq!(
            TextParam::from_json(&serde_json::json!({"a": 1}))
                .0
                .as_deref(),
            Some(r#"{"a":1}"#)
        );
    }
}
