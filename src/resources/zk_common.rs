//! What the znode resources share: the `acl` and `zookeeper` (connection) blocks, their validators, the
//! conversion between ACL blocks and ZooKeeper ACLs, choosing the session for a resource, and
//! turning ZooKeeper errors into diagnostics.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;

use crate::adapters::zookeeper::{
    Acl, Perms, PermsParseError, Stat, ZkAuth, ZkConnection, ZkError, ZnodeStore,
};
use crate::framework::timeouts::{parse_duration, validate_duration};
use crate::framework::{Attribute, Block, Context, NestedBlock, PlannedChange};
use crate::tfvalue::{AttributePath, Diagnostic, Diagnostics, Type, Value};

use super::provider_config::Configured;
use super::ProviderData;

/// Schemes ZooKeeper ships with.
pub const SCHEMES: [&str; 6] = ["world", "auth", "digest", "ip", "sasl", "x509"];

/// The default session timeout, and how long connecting may take.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `acl { scheme, id, permissions }`, repeated, in the order ZooKeeper keeps them.
pub fn acl_block(description: &str) -> NestedBlock {
    NestedBlock::list(
        "acl",
        Block::new(description)
            .attr(
                Attribute::required("scheme", Type::String)
                    .describe("ACL scheme: world, auth, digest, ip, sasl or x509.")
                    .validate(validate_scheme),
            )
            .attr(Attribute::optional("id", Type::String).describe(
                "The identity within the scheme: `anyone` for world; `user:base64(sha1(user:password))` \
                 for digest (see provider::zkkafka::digest_id); an address or CIDR range for ip. \
                 Not used for auth.",
            ))
            .attr(
                Attribute::required("permissions", Type::String)
                    .describe("Permission letters from `rwcda`: read, write, create, delete, admin.")
                    .validate(validate_permissions),
            ),
    )
}

/// `auth { scheme, credentials }`: identities added to the ZooKeeper session.
fn auth_block() -> NestedBlock {
    NestedBlock::list(
        "auth",
        Block::new("Credentials added to the ZooKeeper session (addauth).")
            .attr(
                Attribute::required("scheme", Type::String)
                    .describe("Authentication scheme. Only `digest` is supported.")
                    .validate(|p: &AttributePath, v: &Value, d: &mut Diagnostics| {
                        if v.as_str() != Some("digest") {
                            d.error_at(
                                p.clone(),
                                "Unsupported authentication scheme",
                                "Only scheme = \"digest\" can be added to a session by this provider.",
                            );
                        }
                    }),
            )
            .attr(
                Attribute::required("credentials", Type::String)
                    .sensitive()
                    .describe("For digest: `user:password` (in clear; sent only to ZooKeeper).")
                    .validate(|p: &AttributePath, v: &Value, d: &mut Diagnostics| {
                        if !v.as_str().is_some_and(|s| s.contains(':')) {
                            d.error_at(
                                p.clone(),
                                "Invalid digest credentials",
                                "Digest credentials have the form \"user:password\".",
                            );
                        }
                    }),
            ),
    )
}

/// The attributes of a ZooKeeper connection, shared by the provider's `zookeeper {}` block and
/// the resources' own `zookeeper {}` block.
pub fn connection_block_body(description: &str) -> Block {
    Block::new(description)
        .attr(
            Attribute::required("connect_string", Type::String)
                .describe("Comma-separated host:port list, optionally followed by a chroot path, e.g. \"zk-0:2181,zk-1:2181/app\".")
                .validate(validate_connect_string),
        )
        .attr(
            Attribute::optional("session_timeout", Type::String)
                .describe("ZooKeeper session timeout (default \"30s\").")
                .validate(validate_duration)
                .validate(validate_not_zero),
        )
        .attr(
            Attribute::optional("connect_timeout", Type::String)
                .describe("How long connecting may take before the operation fails (default \"10s\").")
                .validate(validate_duration)
                .validate(validate_not_zero),
        )
        .block(auth_block())
}

/// The connect string a resource's calls go to, `None` while it is not known.
pub fn connect_string_of(ctx: &Context, value: &Value) -> Option<String> {
    let own = value.attr(CONNECTION_BLOCK);
    if !own.is_null() {
        return own.attr("connect_string").as_str().map(str::to_owned);
    }
    match &ctx.provider_data::<ProviderData>()?.zookeeper {
        Configured::Known(conn) => Some(conn.connect_string.clone()),
        _ => None,
    }
}

/// Early version-0 states (before the first release) also held a `timeouts` block and, under
/// the name `connection`, the block now called `zookeeper`. The CLIs never pass a block named
/// `connection` to a provider, so it was always null: both go.
pub fn forget_early_blocks(attributes: &mut serde_json::Map<String, serde_json::Value>) {
    attributes.remove("timeouts");
    attributes.remove("connection");
    attributes
        .entry(CONNECTION_BLOCK)
        .or_insert(serde_json::Value::Null);
}

/// A timeout of zero would fail every call before it starts.
fn validate_not_zero(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    if v.as_str().and_then(|s| parse_duration(s).ok()) == Some(Duration::ZERO) {
        diags.error_at(
            path.clone(),
            "Timeout of zero",
            "A zero timeout fails every ZooKeeper call before it can start; give a positive duration, \
             such as \"10s\", or leave it out for the default.",
        );
    }
}

/// The block name of a resource's own connection. Not `connection`: Terraform and OpenTofu
/// reserve that name in resource blocks for provisioners and never pass it to the provider.
pub const CONNECTION_BLOCK: &str = "zookeeper";

pub fn connection_block() -> NestedBlock {
    NestedBlock::single(
        CONNECTION_BLOCK,
        connection_block_body(
            "Connection for this resource, overriding the provider's zookeeper {} block. \
             May take values from other resources (unknown until they exist).",
        ),
    )
}

/// Parses a connection block value. `None` when any part is unknown.
pub fn parse_connection(v: &Value) -> Option<ZkConnection> {
    if v.contains_unknown() || v.is_null() {
        return None;
    }
    let duration = |name: &str, default: Duration| {
        v.attr(name)
            .as_str()
            .and_then(|s| parse_duration(s).ok())
            .unwrap_or(default)
    };
    let auth = v
        .attr("auth")
        .as_elements()
        .unwrap_or(&[])
        .iter()
        .map(|a| ZkAuth {
            scheme: a.attr("scheme").as_str().unwrap_or("digest").to_owned(),
            credentials: a
                .attr("credentials")
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
        .collect();
    Some(ZkConnection {
        connect_string: v.attr("connect_string").as_str()?.to_owned(),
        auth,
        session_timeout: duration("session_timeout", DEFAULT_SESSION_TIMEOUT),
        connect_timeout: duration("connect_timeout", DEFAULT_CONNECT_TIMEOUT),
    })
}

/// Opens (or reuses) the session a resource talks through: its own `zookeeper {}` block when
/// set, else the provider's `zookeeper {}` block.
pub async fn session(ctx: &Context, value: &Value) -> Result<Arc<dyn ZnodeStore>, Diagnostic> {
    let data = ctx.provider_data::<ProviderData>().ok_or_else(|| {
        Diagnostic::error(
            "Provider not configured",
            "The zkkafka provider was not configured before use. This is a bug in the provider or the CLI.",
        )
    })?;
    let own = value.attr(CONNECTION_BLOCK);
    let conn = if !own.is_null() {
        parse_connection(own).ok_or_else(|| {
            Diagnostic::error(
                "ZooKeeper connection not known yet",
                "The resource's zookeeper block still has unknown values at apply time.",
            )
            .at(AttributePath::attr(CONNECTION_BLOCK))
        })?
    } else {
        data.zookeeper_default()?
    };
    let ctx = ctx.clone();
    let store = interruptible(&ctx, data.zk_pool.get(&conn))
        .await
        .map_err(|e| zk_diagnostic("connect to ZooKeeper", e))?;
    Ok(Arc::new(Interruptible { store, ctx }))
}

/// `call` through [`Context::wait`]. The znode resources have no `timeouts` block, so what
/// ends the wait early is StopProvider.
async fn interruptible<T>(
    ctx: &Context,
    call: impl Future<Output = Result<T, ZkError>>,
) -> Result<T, ZkError> {
    ctx.wait(call).await.unwrap_or(Err(ZkError::Interrupted))
}

/// A store whose calls end with [`ZkError::Interrupted`] as soon as Terraform sends
/// StopProvider (Ctrl-C), instead of waiting out the operation timeout on a ZooKeeper that
/// does not answer. Dropping a call abandons only its answer: the session stays usable.
struct Interruptible {
    store: Arc<dyn ZnodeStore>,
    ctx: Context,
}

impl Interruptible {
    async fn run<T>(&self, call: impl Future<Output = Result<T, ZkError>>) -> Result<T, ZkError> {
        interruptible(&self.ctx, call).await
    }
}

#[async_trait]
impl ZnodeStore for Interruptible {
    async fn get(&self, path: &str) -> Result<Option<(Vec<u8>, Stat)>, ZkError> {
        self.run(self.store.get(path)).await
    }

    async fn get_acl(&self, path: &str) -> Result<Option<(Vec<Acl>, Stat)>, ZkError> {
        self.run(self.store.get_acl(path)).await
    }

    async fn exists(&self, path: &str) -> Result<Option<Stat>, ZkError> {
        self.run(self.store.exists(path)).await
    }

    async fn children(&self, path: &str) -> Result<Option<Vec<String>>, ZkError> {
        self.run(self.store.children(path)).await
    }

    async fn create(
        &self,
        path: &str,
        data: &[u8],
        acl: &[Acl],
        create_parents: bool,
        parent_acl: &[Acl],
    ) -> Result<Stat, ZkError> {
        self.run(
            self.store
                .create(path, data, acl, create_parents, parent_acl),
        )
        .await
    }

    async fn set_data(&self, path: &str, data: &[u8], expected: i32) -> Result<Stat, ZkError> {
        self.run(self.store.set_data(path, data, expected)).await
    }

    async fn set_acl(&self, path: &str, acl: &[Acl], expected: i32) -> Result<Stat, ZkError> {
        self.run(self.store.set_acl(path, acl, expected)).await
    }

    async fn delete(&self, path: &str, expected: i32) -> Result<(), ZkError> {
        self.run(self.store.delete(path, expected)).await
    }

    async fn delete_recursive(&self, path: &str) -> Result<(), ZkError> {
        self.run(self.store.delete_recursive(path)).await
    }
}

/// The session an import reads through: always the provider's `zookeeper {}` block, since the
/// protocol gives an import nothing of the resource's configuration.
pub async fn import_session(ctx: &Context, id: &str) -> Result<Arc<dyn ZnodeStore>, Diagnostic> {
    let configured = ctx
        .provider_data::<ProviderData>()
        .map(|data| data.zookeeper.clone());
    let why = match configured {
        Some(Configured::Absent) => "has no zookeeper {} block",
        Some(Configured::Unknown) => "has a zookeeper {} block with values not known yet",
        _ => return session(ctx, &Value::object([("path", Value::from(id))])).await,
    };
    Err(Diagnostic::error(
        "No ZooKeeper connection for the import",
        format!(
            "An import reads {id} through the provider's zookeeper {{}} block (the protocol passes an \
             import none of the resource's configuration, so its own block cannot be used), and the \
             provider {why}. Give the \
             provider block a known connect_string (and auth, if the znode needs it) and import again."
        ),
    ))
}

/// The session for a refresh, or `None` when the resource relies on the provider's connection
/// and that is not known yet: its zookeeper {} block takes values from a resource this run
/// creates or replaces. Nothing can be read then, so refresh keeps the prior state, as the
/// provider's documentation promises; the apply (configured with the real values) acts on it.
pub async fn refresh_session(
    ctx: &Context,
    state: &Value,
) -> Result<Option<Arc<dyn ZnodeStore>>, Diagnostic> {
    let unknown_default = ctx
        .provider_data::<ProviderData>()
        .is_some_and(|data| matches!(data.zookeeper, Configured::Unknown));
    if unknown_default && state.attr(CONNECTION_BLOCK).is_null() {
        tracing::debug!(
            path = state.attr("path").as_str().unwrap_or_default(),
            "provider connection not known yet; refresh keeps the prior state"
        );
        return Ok(None);
    }
    session(ctx, state).await.map(Some)
}

/// A ZooKeeper error as a practitioner-facing diagnostic.
pub fn zk_diagnostic(action: &str, err: ZkError) -> Diagnostic {
    let advice = match &err {
        ZkError::NoAuth { .. } => {
            " Add credentials with that permission to the provider's zookeeper { auth { ... } } block \
             or the resource's own zookeeper { auth { ... } } block."
        }
        ZkError::Unreachable { .. } => " Check the connect string and that ZooKeeper is running and reachable.",
        _ => "",
    };
    Diagnostic::error(format!("Failed to {action}"), format!("{err}.{advice}"))
}

pub fn validate_scheme(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    if let Some(s) = v.as_str() {
        if !SCHEMES.contains(&s) {
            diags.error_at(
                path.clone(),
                "Unknown ACL scheme",
                format!(
                    "{s:?} is not a ZooKeeper ACL scheme. Use one of: {}.",
                    SCHEMES.join(", ")
                ),
            );
        }
    }
}

pub fn validate_permissions(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    if let Some(s) = v.as_str() {
        if let Err(e) = s.parse::<Perms>() {
            diags.error_at(
                path.clone(),
                "Invalid permissions",
                // The empty and unknown-letter errors already name the letters to use.
                match e {
                    PermsParseError::DuplicateLetter { .. } => {
                        format!("{e}: write each letter once.")
                    }
                    _ => format!("{e}."),
                },
            );
        }
    }
}

pub fn validate_connect_string(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    let (hosts, chroot) = match s.find('/') {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    let bad = |detail: String, diags: &mut Diagnostics| {
        diags.error_at(path.clone(), "Invalid ZooKeeper connect string", detail);
    };
    if hosts.is_empty() {
        return bad(
            "The connect string has no servers. Write host:port pairs separated by commas.".into(),
            diags,
        );
    }
    for server in hosts.split(',') {
        if server.contains(char::is_whitespace) {
            return bad(
                format!(
                    "{server:?} contains spaces, which the client would take as part of the host name. \
                     Write the servers without them, e.g. \"zk-0:2181,zk-1:2181\" (join(\",\", ...) rather \
                     than join(\", \", ...))."
                ),
                diags,
            );
        }
        let valid = server.rsplit_once(':').is_some_and(|(host, port)| {
            let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                // A zone (fe80::1%eth0) is the resolver's business.
                Some(v6) => v6
                    .split_once('%')
                    .map_or(v6, |(addr, _)| addr)
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok(),
                None => !host.is_empty() && !host.contains([':', '[', ']']),
            };
            host_ok && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !valid {
            return bad(
                format!(
                    "{server:?} is not host:port. Write host:port pairs separated by commas, with IPv6 \
                     addresses in brackets: [::1]:2181."
                ),
                diags,
            );
        }
    }
    if let Some(root) = chroot {
        if let Err(e) = crate::adapters::zookeeper::validate_path(root) {
            bad(
                format!("The chroot {root:?} is not a valid znode path: {e}."),
                diags,
            );
        }
    }
}

/// Checks every entry of the `acl` blocks in a configuration.
pub fn validate_acl_entries(config: &Value, diags: &mut Diagnostics) {
    let entries = config.attr("acl").as_elements().unwrap_or(&[]);
    for (i, entry) in entries.iter().enumerate() {
        let path = AttributePath::attr("acl").then_index(i);
        validate_acl_entry(&path, entry, diags);
        // ZooKeeper keeps one of two equal entries, so the ACL read back would never match.
        let Some(this) = known_acl(entry) else {
            continue;
        };
        if let Some(first) = entries[..i]
            .iter()
            .position(|e| known_acl(e).as_ref() == Some(&this))
        {
            // At an attribute: the CLIs quote no source line for a path ending at a block.
            diags.error_at(
                path.then_attr("permissions"),
                "Duplicate ACL entry",
                format!(
                    "acl[{first}] already grants the same permissions to the same identity. ZooKeeper \
                     keeps only one of them, so every plan would show a change; remove one."
                ),
            );
        }
    }
}

/// An entry as an [`Acl`] when all of it is known and valid.
fn known_acl(entry: &Value) -> Option<Acl> {
    if entry.contains_unknown() {
        return None;
    }
    acls_from_value(&Value::List(vec![entry.clone()])).pop()
}

/// Plan-time checks that need the connection a resource will use: that there is one, that an
/// `auth` ACL entry has identities to expand to, and a warning when the configured `acl` (none:
/// not managed) leaves this connection unable to read or administer the znode afterwards.
pub fn check_connection_at_plan(ctx: &Context, change: &PlannedChange, diags: &mut Diagnostics) {
    // Only what this plan sets: an unchanged ACL on an unchanged connection was checked when
    // it was planned.
    if !(change.is_create() || change.changed("acl") || change.changed(CONNECTION_BLOCK)) {
        return;
    }
    let config = &change.config;
    let auth = match connection_for(ctx, config) {
        Some(Configured::Known(conn)) => conn.auth,
        Some(Configured::Absent) => {
            let data = ctx.provider_data::<ProviderData>();
            if let Some(Err(d)) = data.map(|d| d.zookeeper_default()) {
                diags.push(d.at(AttributePath::attr(CONNECTION_BLOCK)));
            }
            return;
        }
        Some(Configured::Unknown) | None => return,
    };
    let entries = config.attr("acl").as_elements().unwrap_or(&[]);
    if entries.iter().any(Value::contains_unknown) {
        return;
    }
    if auth.is_empty() {
        if let Some(i) = entries
            .iter()
            .position(|e| e.attr("scheme").as_str() == Some("auth"))
        {
            diags.error_at(
                AttributePath::attr("acl").then_index(i).then_attr("scheme"),
                "No identity for scheme auth",
                "Scheme \"auth\" grants the identities the connection authenticated as, and this \
                 connection adds none, so ZooKeeper would refuse the ACL. Add an auth { scheme = \"digest\", \
                 credentials = ... } block to the zookeeper {} block in use, or name the identity with \
                 scheme = \"digest\" and an id.",
            );
            return;
        }
    }
    let acl = acls_from_value(config.attr("acl"));
    if acl.is_empty()
        || acl
            .iter()
            .any(|a| !matches!(a.scheme.as_str(), "world" | "auth" | "digest"))
    {
        // Unmanaged, or an ip, sasl or x509 entry the provider cannot match to itself.
        return;
    }
    let ids: Vec<String> = auth_digest_ids(&auth);
    let granted = acl
        .iter()
        .filter(|a| {
            a.scheme == "world" || (a.scheme == "auth" && !ids.is_empty()) || ids.contains(&a.id)
        })
        .fold(Perms::NONE, |p, a| p | a.perms);
    let missing: Vec<&str> = [
        (Perms::READ, "r (read: every refresh)"),
        (
            Perms::ADMIN,
            "a (admin: later ACL changes, and restoring an ACL on destroy)",
        ),
    ]
    .into_iter()
    .filter(|(perm, _)| !granted.contains(*perm))
    .map(|(_, what)| what)
    .collect();
    if !missing.is_empty() {
        diags.warning_at(
            AttributePath::attr("acl"),
            "The provider locks itself out of this znode",
            format!(
                "After this ACL is set, the identities of this connection (world:anyone and its auth \
                 credentials) lack {}. Plans and destroys that need them will fail with permission \
                 denied, unless one of those identities is ZooKeeper's super user. Grant them to an \
                 identity in the connection's auth blocks.",
                missing.join(" and ")
            ),
        );
    }
}

/// Checks one ACL entry's id against its scheme; `path` points at the entry.
pub fn validate_acl_entry(path: &AttributePath, entry: &Value, diags: &mut Diagnostics) {
    let (Some(scheme), id) = (entry.attr("scheme").as_str(), entry.attr("id")) else {
        return;
    };
    if id.is_unknown() {
        return;
    }
    let id_path = path.then_attr("id");
    let id = id.as_str();
    match (scheme, id) {
        ("auth", _) => {}
        (_, None) => diags.error_at(
            id_path,
            "Missing ACL id",
            format!("Scheme {scheme:?} needs an id; only scheme \"auth\" goes without one."),
        ),
        ("world", Some(id)) if id != "anyone" => diags.error_at(
            id_path,
            "Invalid world id",
            format!("The world scheme has one id, \"anyone\" (got {id:?})."),
        ),
        ("digest", Some(id)) => {
            if let Err(e) = check_digest_id(id) {
                diags.error_at(
                    id_path,
                    "Invalid digest id",
                    format!(
                        "{e}. A digest id is \"user:base64(sha1(user:password))\"; compute it with \
                         provider::zkkafka::digest_id(\"user\", var.password)."
                    ),
                );
            }
        }
        ("ip", Some(id)) => {
            if let Err(e) = check_ip_id(id) {
                diags.error_at(
                    id_path,
                    "Invalid ip id",
                    format!(
                        "{e}. Write an address (10.0.0.1) or a CIDR range (10.0.0.0/8, fd00::/8)."
                    ),
                );
            }
        }
        _ => {}
    }
}

fn check_digest_id(id: &str) -> Result<(), String> {
    let (user, hash) = id
        .split_once(':')
        .ok_or_else(|| format!("{id:?} has no ':' between user and hash"))?;
    if user.is_empty() {
        return Err("the user part is empty".into());
    }
    match base64::engine::general_purpose::STANDARD.decode(hash) {
        Ok(bytes) if bytes.len() == 20 => Ok(()),
        _ => Err(format!(
            "the part after ':' for user {user:?} is not a base64 SHA-1 digest (it looks like a password in clear?)"
        )),
    }
}

fn check_ip_id(id: &str) -> Result<(), String> {
    let (addr, bits) = match id.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (id, None),
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an IP address"))?;
    if let Some(bits) = bits {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        match bits.parse::<u8>() {
            Ok(b) if b <= max => {}
            _ => return Err(format!("/{bits} is not a prefix length from 0 to {max}")),
        }
    }
    Ok(())
}

/// The ACL entries of an `acl` block list. Call only on known values.
pub fn acls_from_value(v: &Value) -> Vec<Acl> {
    v.as_elements()
        .unwrap_or(&[])
        .iter()
        .filter_map(|e| {
            Some(Acl {
                scheme: e.attr("scheme").as_str()?.to_owned(),
                id: e.attr("id").as_str().unwrap_or_default().to_owned(),
                perms: e.attr("permissions").as_str()?.parse().ok()?,
            })
        })
        .collect()
}

/// ZooKeeper ACL entries as `acl` block values. Where `prior` holds an equivalent entry at the
/// same position (same scheme and id, same permission set, letters in any order), that entry
/// is kept as written, so the state matches the configuration and no diff appears.
/// `session_ids` are the digest ids of the session: ZooKeeper stores an `auth` entry as one
/// digest entry per identity the session authenticated as, so that run of entries maps back
/// to the one `auth` entry.
pub fn acls_to_value(acls: &[Acl], prior: &Value, session_ids: &[String]) -> Value {
    let prior_items = prior.as_elements().unwrap_or(&[]);
    let perms_of = |p: &Value| {
        p.attr("permissions")
            .as_str()
            .and_then(|s| s.parse::<Perms>().ok())
    };
    let mut items = Vec::with_capacity(acls.len());
    let mut rest = acls;
    while let Some(acl) = rest.first() {
        let p = prior_items.get(items.len());
        let perms = p.and_then(perms_of);
        let scheme = p.and_then(|p| p.attr("scheme").as_str());
        if let (Some(p), Some(perms), Some("auth")) = (p, perms, scheme) {
            // One entry per identity: ZooKeeper expands `auth` after removing duplicates, so
            // a digest entry of the session's own id written beside it stays its own entry.
            let mut ids_seen: Vec<&str> = Vec::new();
            let run = rest
                .iter()
                .take_while(|a| {
                    let fresh = !ids_seen.contains(&a.id.as_str());
                    let take = fresh
                        && a.scheme == "digest"
                        && a.perms == perms
                        && session_ids.contains(&a.id);
                    if take {
                        ids_seen.push(&a.id);
                    }
                    take
                })
                .count();
            let covers_session = run > 0
                && session_ids
                    .iter()
                    .all(|id| rest[..run].iter().any(|a| &a.id == id));
            if covers_session {
                items.push(p.clone());
                rest = &rest[run..];
                continue;
            }
        }
        let same_identity = scheme == Some(acl.scheme.as_str())
            && p.is_some_and(|p| p.attr("id").as_str().unwrap_or_default() == acl.id);
        match p {
            Some(p) if same_identity && perms == Some(acl.perms) => items.push(p.clone()),
            _ => items.push(acl_value(acl)),
        }
        rest = &rest[1..];
    }
    Value::List(items)
}

pub fn acl_value(acl: &Acl) -> Value {
    Value::object([
        ("scheme", Value::from(acl.scheme.as_str())),
        ("id", Value::from(acl.id.as_str())),
        ("permissions", Value::from(acl.perms.to_string())),
    ])
}

/// The ACL a znode gets when no `acl` block is given: world:anyone with every permission.
pub fn open_acl() -> Vec<Acl> {
    vec![Acl {
        scheme: "world".into(),
        id: "anyone".into(),
        perms: Perms::ALL,
    }]
}

/// The digest ids a connection authenticates as.
pub fn session_digest_ids(ctx: &Context, value: &Value) -> Vec<String> {
    match connection_for(ctx, value) {
        Some(Configured::Known(conn)) => auth_digest_ids(&conn.auth),
        _ => Vec::new(),
    }
}

/// The connection a resource's calls use: its own zookeeper {} block when it has one, else
/// the provider's. `None` before the provider is configured.
fn connection_for(ctx: &Context, value: &Value) -> Option<Configured<ZkConnection>> {
    let own = value.attr(CONNECTION_BLOCK);
    if !own.is_null() {
        return Some(parse_connection(own).map_or(Configured::Unknown, Configured::Known));
    }
    Some(ctx.provider_data::<ProviderData>()?.zookeeper.clone())
}

fn auth_digest_ids(auth: &[ZkAuth]) -> Vec<String> {
    auth.iter()
        .filter(|a| a.scheme == "digest")
        .filter_map(|a| {
            let (user, password) = a.credentials.split_once(':')?;
            Some(crate::adapters::zookeeper::digest_id(user, password))
        })
        .collect()
}

/// The stat fields kept in state: the two versions every conditional write names, and the
/// child count. The rest of the stat (zxids, times, data length) is left out on purpose: every
/// computed attribute is decoded, stored and compared for every znode on every plan, and the
/// write-related ones change on every data update, which only adds "known after apply" noise.
pub const STAT_ATTRIBUTES: [&str; 3] = ["version", "acl_version", "children_count"];

/// Stat fields that schema version 0 of `zkkafka_znode` kept in state; upgrading drops them.
pub const DROPPED_STAT_ATTRIBUTES: [&str; 5] = ["data_length", "czxid", "mzxid", "ctime", "mtime"];

/// Adds the computed stat attributes ([`STAT_ATTRIBUTES`]) to a block.
pub fn stat_attributes(block: Block) -> Block {
    block
        .attr(Attribute::computed("version", Type::Number).describe("Data version (stat.version)."))
        .attr(
            Attribute::computed("acl_version", Type::Number)
                .describe("ACL version (stat.aversion)."),
        )
        .attr(
            Attribute::computed("children_count", Type::Number)
                .describe("Number of children (stat.numChildren)."),
        )
}

/// Writes the stat attributes into a state object.
pub fn set_stat(state: &mut Value, stat: &Stat) {
    if let Value::Object(m) = state {
        m.insert("version".into(), Value::int(stat.version.into()));
        m.insert("acl_version".into(), Value::int(stat.aversion.into()));
        m.insert(
            "children_count".into(),
            Value::int(stat.num_children.into()),
        );
    }
}

/// The expected version stored in state, or -1 (any) when absent.
pub fn state_version(state: &Value, name: &str) -> i32 {
    state
        .attr(name)
        .as_i64()
        .and_then(|v| i32::try_from(v).ok())
        .unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(scheme: &str, id: &str) -> Value {
        Value::object([
            ("scheme", Value::from(scheme)),
            ("id", Value::from(id)),
            ("permissions", Value::from("r")),
        ])
    }

    #[test]
    fn acl_entry_ids_are_checked_per_scheme() {
        let cases = [
            ("world_anyone", entry("world", "anyone"), true),
            ("world_other", entry("world", "everyone"), false),
            (
                "digest_ok",
                entry("digest", "kafka:b6WpC6bRcQ8e6NMRwsvWw+iVcPA="),
                true,
            ),
            (
                "digest_clear_password",
                entry("digest", "kafka:secret"),
                false,
            ),
            ("digest_no_colon", entry("digest", "kafka"), false),
            ("ip_v4", entry("ip", "10.0.0.1"), true),
            ("ip_cidr", entry("ip", "10.0.0.0/8"), true),
            ("ip_v6_cidr", entry("ip", "fd00::/8"), true),
            ("ip_bad_prefix", entry("ip", "10.0.0.0/33"), false),
            ("ip_not_an_address", entry("ip", "10.0.0"), false),
            ("sasl_free_form", entry("sasl", "kafka@EXAMPLE.COM"), true),
        ];
        for (name, value, ok) in cases {
            let mut diags = Diagnostics::new();
            validate_acl_entry(
                &AttributePath::attr("acl").then_index(0),
                &value,
                &mut diags,
            );
            assert_eq!(!diags.has_errors(), ok, "case {name}: {diags:?}");
            if !ok {
                assert_eq!(
                    diags.0[0]
                        .attribute
                        .as_ref()
                        .map(ToString::to_string)
                        .as_deref(),
                    Some("acl[0].id")
                );
            }
        }
    }

    #[test]
    fn connect_strings() {
        let cases = [
            ("single", "127.0.0.1:2181", true),
            ("several_with_chroot", "zk-0:2181,zk-1:2181/events", true),
            ("no_port", "zk-0", false),
            ("bad_port", "zk-0:99999", false),
            ("empty", "", false),
            ("bad_chroot", "zk:2181/events/", false),
            (
                "ipv6_in_brackets",
                "[::1]:2181,[fe80::1%eth0]:2181/app",
                true,
            ),
            ("underscore_in_a_host_name", "zk_0.local:2181", true),
            ("bad_ipv6", "[::g]:2181", false),
            ("space_after_comma", "zk-0:2181, zk-1:2181", false),
            ("leading_space", " zk-0:2181", false),
            ("extra_colon", "zk-0:2181:9", false),
            ("bare_ipv6", "::1:2181", false),
        ];
        for (name, s, ok) in cases {
            let mut diags = Diagnostics::new();
            validate_connect_string(&AttributePath::attr("c"), &Value::from(s), &mut diags);
            assert_eq!(!diags.has_errors(), ok, "case {name}");
        }
    }

    #[test]
    fn zero_timeouts_are_refused() {
        for (value, refused) in [("0s", true), ("0m", true), ("0.5s", false), ("10s", false)] {
            let mut diags = Diagnostics::new();
            validate_not_zero(&AttributePath::attr("t"), &Value::from(value), &mut diags);
            assert_eq!(diags.has_errors(), refused, "{value}");
        }
    }

    #[test]
    fn read_back_keeps_the_letters_as_written() {
        let prior = Value::List(vec![Value::object([
            ("scheme", Value::from("world")),
            ("id", Value::from("anyone")),
            ("permissions", Value::from("rwa")),
        ])]);
        let remote = vec![Acl {
            scheme: "world".into(),
            id: "anyone".into(),
            perms: "arw".parse().expect("valid permissions"),
        }];
        assert_eq!(acls_to_value(&remote, &prior, &[]), prior);
        let changed = vec![Acl {
            scheme: "world".into(),
            id: "anyone".into(),
            perms: "r".parse().expect("valid permissions"),
        }];
        assert_ne!(acls_to_value(&changed, &prior, &[]), prior);
    }

    #[test]
    fn an_auth_entry_reads_back_from_one_digest_entry_per_session_identity() {
        let entry = |scheme: &str, id: &str, perms: &str| {
            Value::object([
                ("scheme", Value::from(scheme)),
                ("id", Value::from(id)),
                ("permissions", Value::from(perms)),
            ])
        };
        let remote = |ids: &[&str]| -> Vec<Acl> {
            ids.iter()
                .map(|id| Acl {
                    scheme: if id.contains(':') { "digest" } else { "world" }.into(),
                    id: (*id).into(),
                    perms: if id.contains(':') {
                        Perms::ALL
                    } else {
                        Perms::READ
                    },
                })
                .collect()
        };
        let session = ["alice:a=".to_string(), "bob:b=".to_string()];
        let prior = Value::List(vec![
            entry("auth", "", "cdrwa"),
            entry("world", "anyone", "r"),
        ]);
        assert_eq!(
            acls_to_value(&remote(&["alice:a=", "bob:b=", "anyone"]), &prior, &session),
            prior,
            "both identities of the session make the one auth entry"
        );
        let only_alice = acls_to_value(&remote(&["alice:a=", "anyone"]), &prior, &session);
        assert_eq!(
            only_alice,
            Value::List(vec![
                entry("digest", "alice:a=", "cdrwa"),
                entry("world", "anyone", "r")
            ]),
            "an entry for only one of them is not what auth grants, so it shows as it is"
        );
    }
}
