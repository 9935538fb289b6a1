//! Parameters sent to Postgres in text format, for it to parse as whatever type the statement
//! gives them: the values of `POST /api/query`'s `params`, and JSON fields bound to functions
//! whose argument types the shim does not restate.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use serde_json::value::RawValue;
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

    /// Like [`TextParam::from_json`], but a number keeps the text the client wrote: parsed
    /// into a `Value` it would pass through a binary float (`1.00000000000000001` → `1.0`, a
    /// 30-digit integer rounded, `1e2` → `100.0`). Also answers the value's JSON kind.
    pub fn from_raw(raw: &RawValue) -> (TextParam, Value) {
        let text = raw.get().trim();
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            // A RawValue is valid JSON, so what does not parse is a number beyond a double
            // (`1e400`): it is still a number, passed as written, never turned into NULL.
            Err(_) => {
                return (
                    TextParam(Some(text.to_owned())),
                    Value::String(text.to_owned()),
                )
            }
        };
        let param = match value {
            Value::Number(_) => TextParam(Some(text.to_owned())),
            ref other => TextParam::from_json(other),
        };
        (param, value)
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
    fn raw_numbers_keep_their_text() {
        for text in [
            "1.00000000000000001",
            "123456789012345678901234567890",
            "1e2",
            "-0.5",
        ] {
            let raw = RawValue::from_string(text.to_owned()).unwrap();
            assert_eq!(TextParam::from_raw(&raw).0 .0.as_deref(), Some(text));
        }
        let raw = RawValue::from_string(r#" "b42" "#.to_owned()).unwrap();
        assert_eq!(TextParam::from_raw(&raw).0 .0.as_deref(), Some("b42"));
        let raw = RawValue::from_string("null".to_owned()).unwrap();
        assert_eq!(TextParam::from_raw(&raw).0 .0, None);
        // beyond a double: still the number as written, not NULL
        let raw = RawValue::from_string("1e400".to_owned()).unwrap();
        assert_eq!(TextParam::from_raw(&raw).0 .0.as_deref(), Some("1e400"));
    }

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
