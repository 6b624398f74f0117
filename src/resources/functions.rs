//! Provider functions: `provider::zkkafka::digest_id(user, password)`.

use crate::adapters::zookeeper::digest_id;
use crate::framework::{Function, FunctionCallError, FunctionParameter, FunctionSignature};
use crate::tfvalue::{Type, Value};

/// `digest_id(user, password)`: the id of a digest ACL entry,
/// `user:base64(sha1("user:password"))`.
pub struct DigestId;

impl Function for DigestId {
    fn name(&self) -> &'static str {
        "digest_id"
    }

    fn signature(&self) -> FunctionSignature {
        let param = |name: &str, description: &str| FunctionParameter {
            name: name.to_owned(),
            ty: Type::String,
            description: description.to_owned(),
            allow_null: false,
            allow_unknown: false,
        };
        FunctionSignature {
            parameters: vec![
                param("user", "The digest user name."),
                param("password", "The user's password."),
            ],
            return_type: Type::String,
            summary: "ZooKeeper digest ACL id for a user and password".to_owned(),
            description: "Returns user:base64(sha1(\"user:password\")), the id a digest ACL entry \
                          names, as ZooKeeper's DigestAuthenticationProvider computes it."
                .to_owned(),
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionCallError> {
        let arg = |i: usize| {
            args.get(i)
                .and_then(Value::as_str)
                .ok_or(FunctionCallError {
                    text: "expected a string".to_owned(),
                    argument: Some(i),
                })
        };
        let (user, password) = (arg(0)?, arg(1)?);
        if user.is_empty() || user.contains(':') {
            return Err(FunctionCallError {
                text: "the user must be non-empty and must not contain ':'".to_owned(),
                argument: Some(0),
            });
        }
        Ok(Value::from(digest_id(user, password)))
    }
}
