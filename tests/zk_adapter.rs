//! The ZooKeeper adapter against a real ZooKeeper server (see `common::zookeeper()`): versions,
//! ACLs, permission errors, recursive deletes, timeouts and the session pool.
//!
//! Every test works under its own base path, so the tests also pass against one shared server.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use zkkafka::adapters::zookeeper::{
    connect, digest_id, Acl, Perms, ZkAuth, ZkConnection, ZkError, ZkPool, ZnodeStore,
};

const SESSION_TIMEOUT: Duration = Duration::from_secs(6);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

fn connection(connect_string: &str, auth: Vec<ZkAuth>) -> ZkConnection {
    ZkConnection {
        connect_string: connect_string.to_string(),
        auth,
        session_timeout: SESSION_TIMEOUT,
        connect_timeout: CONNECT_TIMEOUT,
    }
}

fn super_auth(zk: &common::ZkServer) -> ZkAuth {
    ZkAuth {
        scheme: "digest".into(),
        credentials: zk.super_auth.clone(),
    }
}

async fn store(zk: &common::ZkServer, auth: Vec<ZkAuth>) -> Arc<dyn ZnodeStore> {
    connect(&connection(&zk.connect_string, auth))
        .await
        .expect("connect")
}

/// A fresh base znode for one test, created world-writable by the super user.
async fn base(admin: &dyn ZnodeStore, test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let path = format!("/zkadapter-{test}-{nanos}");
    admin
        .create(&path, b"", &[Acl::world(Perms::ALL)], false, &[])
        .await
        .expect("create base");
    path
}

fn acl(perms: &str, scheme: &str, id: &str) -> Acl {
    Acl {
        perms: perms.parse().expect("perms"),
        scheme: scheme.into(),
        id: id.into(),
    }
}

#[tokio::test]
async fn create_get_and_set_data_with_versions() {
    let zk = common::zookeeper();
    let s = store(&zk, vec![super_auth(&zk)]).await;
    let base = base(&*s, "data").await;
    let path = format!("{base}/node");

    let created = s
        .create(&path, b"v0", &[Acl::world(Perms::ALL)], false, &[])
        .await
        .expect("create");
    assert_eq!(created.version, 0);
    assert_eq!(created.data_length, 2);
    let (data, stat) = s.get(&path).await.expect("get").expect("exists");
    assert_eq!((data.as_slice(), stat), (&b"v0"[..], created));
    assert_eq!(s.exists(&path).await.expect("exists"), Some(created));

    let updated = s
        .set_data(&path, b"v1", 0)
        .await
        .expect("set with the right version");
    assert_eq!(updated.version, 1);
    match s.set_data(&path, b"stale", 0).await {
        Err(ZkError::BadVersion {
            path: p,
            expected: 0,
        }) => assert_eq!(p, path),
        other => panic!("expected BadVersion, got {other:?}"),
    }
    assert_eq!(s.get(&path).await.expect("get").expect("exists").0, b"v1");
    assert_eq!(
        s.set_data(&path, b"any", -1)
            .await
            .expect("-1 matches any")
            .version,
        2
    );

    match s
        .create(&path, b"", &[Acl::world(Perms::ALL)], false, &[])
        .await
    {
        Err(ZkError::NodeExists { path: p }) => assert_eq!(p, path),
        other => panic!("expected NodeExists, got {other:?}"),
    }
    let missing = format!("{base}/missing");
    assert_eq!(s.get(&missing).await.expect("get missing"), None);
    assert_eq!(s.get_acl(&missing).await.expect("get_acl missing"), None);
    assert_eq!(s.exists(&missing).await.expect("exists missing"), None);
    assert_eq!(s.children(&missing).await.expect("children missing"), None);
    assert!(matches!(
        s.set_data(&missing, b"", -1).await,
        Err(ZkError::NoNode { .. })
    ));
    assert!(matches!(
        s.get("relative").await,
        Err(ZkError::InvalidPath { .. })
    ));
}

#[tokio::test]
async fn set_acl_checks_the_acl_version() {
    let zk = common::zookeeper();
    let s = store(&zk, vec![super_auth(&zk)]).await;
    let base = base(&*s, "acl").await;

    let (acl0, stat0) = s.get_acl(&base).await.expect("get_acl").expect("exists");
    assert_eq!(acl0, vec![acl("cdrwa", "world", "anyone")]);
    assert_eq!(stat0.aversion, 0);

    let wanted = vec![
        acl("rwcda", "digest", &digest_id("alice", "pw")),
        acl("r", "world", "anyone"),
    ];
    let stat1 = s
        .set_acl(&base, &wanted, 0)
        .await
        .expect("set_acl with the right version");
    assert_eq!(stat1.aversion, 1);
    let (acl1, _) = s.get_acl(&base).await.expect("get_acl").expect("exists");
    assert_eq!(acl1, wanted);
    assert_eq!(acl1[0].perms.to_string(), "cdrwa");

    match s.set_acl(&base, &[Acl::world(Perms::ALL)], 0).await {
        Err(err @ ZkError::BadVersion { .. }) => {
            assert!(err.to_string().contains("refresh and plan again"), "{err}")
        }
        other => panic!("expected BadVersion, got {other:?}"),
    }
    assert!(matches!(
        s.set_acl(&base, &[], -1).await,
        Err(ZkError::InvalidAcl { .. })
    ));
    assert!(matches!(
        s.set_acl(&base, &[acl("r", "digest", "no-colon-here")], -1)
            .await,
        Err(ZkError::InvalidAcl { .. })
    ));
}

#[tokio::test]
async fn create_parents_creates_missing_ancestors_with_parent_acl() {
    let zk = common::zookeeper();
    let s = store(&zk, vec![super_auth(&zk)]).await;
    let base = base(&*s, "parents").await;
    let leaf_acl = [
        acl("r", "world", "anyone"),
        acl("cdrwa", "digest", &digest_id("super", "zkkafka-test")),
    ];
    let parent_acl = [
        acl("rc", "world", "anyone"),
        acl("cdrwa", "digest", &digest_id("super", "zkkafka-test")),
    ];

    let deep = format!("{base}/a/b/c");
    match s.create(&deep, b"leaf", &leaf_acl, false, &[]).await {
        Err(ZkError::NoNode { path }) => assert_eq!(path, format!("{base}/a/b")),
        other => panic!("expected NoNode for the parent, got {other:?}"),
    }
    s.create(&deep, b"leaf", &leaf_acl, true, &parent_acl)
        .await
        .expect("create with parents");
    for ancestor in [format!("{base}/a"), format!("{base}/a/b")] {
        let (data, _) = s
            .get(&ancestor)
            .await
            .expect("get")
            .expect("ancestor exists");
        assert!(data.is_empty());
        assert_eq!(
            s.get_acl(&ancestor).await.expect("acl").expect("exists").0,
            parent_acl
        );
    }
    assert_eq!(s.get(&deep).await.expect("get").expect("leaf").0, b"leaf");
    assert_eq!(
        s.get_acl(&deep).await.expect("acl").expect("leaf").0,
        leaf_acl
    );

    // Siblings racing to create the same missing parents both succeed.
    let (x, y) = (format!("{base}/p/q/x"), format!("{base}/p/q/y"));
    let (rx, ry) = tokio::join!(
        s.create(&x, b"", &leaf_acl, true, &parent_acl),
        s.create(&y, b"", &leaf_acl, true, &parent_acl)
    );
    rx.expect("x");
    ry.expect("y");
    assert_eq!(
        s.children(&format!("{base}/p/q")).await.expect("children"),
        Some(vec!["x".into(), "y".into()])
    );

    // An ancestor the session may create under but not read is still found to exist.
    let write_only = format!("{base}/write-only");
    s.create(&write_only, b"", &[acl("c", "world", "anyone")], false, &[])
        .await
        .expect("write-only");
    let anonymous = store(&zk, vec![]).await;
    let below = format!("{write_only}/m/n");
    let all = [Acl::world(Perms::ALL)];
    anonymous
        .create(&below, b"n", &all, true, &all)
        .await
        .expect("create under a write-only ancestor");
    assert_eq!(
        anonymous.get(&below).await.expect("get").expect("exists").0,
        b"n"
    );
}

#[tokio::test]
async fn delete_checks_version_and_children_and_delete_recursive_removes_a_tree() {
    let zk = common::zookeeper();
    let s = store(&zk, vec![super_auth(&zk)]).await;
    let base = base(&*s, "delete").await;
    let all = [Acl::world(Perms::ALL)];
    let parent = format!("{base}/p");
    for child in ["c2", "c1", "c1/g1", "c1/g2", "c1/g2/h"] {
        s.create(&format!("{parent}/{child}"), b"x", &all, true, &all)
            .await
            .expect("create tree");
    }
    assert_eq!(
        s.children(&parent).await.expect("children"),
        Some(vec!["c1".into(), "c2".into()])
    );

    match s.delete(&parent, -1).await {
        Err(err @ ZkError::NotEmpty { .. }) => {
            let ZkError::NotEmpty { path, children } = &err else {
                unreachable!()
            };
            assert_eq!(
                (path.as_str(), children.as_slice()),
                (parent.as_str(), &["c1".to_string(), "c2".to_string()][..])
            );
            assert!(err.to_string().contains("has children (c1, c2)"), "{err}");
        }
        other => panic!("expected NotEmpty, got {other:?}"),
    }
    let leaf = format!("{parent}/c2");
    assert!(matches!(
        s.delete(&leaf, 7).await,
        Err(ZkError::BadVersion { expected: 7, .. })
    ));
    s.delete(&leaf, 0)
        .await
        .expect("delete with the right version");
    assert!(matches!(
        s.delete(&leaf, -1).await,
        Err(ZkError::NoNode { .. })
    ));

    s.delete_recursive(&parent).await.expect("delete_recursive");
    assert_eq!(s.exists(&parent).await.expect("exists"), None);
    assert_eq!(s.children(&base).await.expect("children"), Some(vec![]));
    s.delete_recursive(&parent)
        .await
        .expect("an absent tree is already deleted");
    assert!(matches!(
        s.delete_recursive("/").await,
        Err(ZkError::InvalidPath { .. })
    ));
}

#[tokio::test]
async fn digest_locked_znode_needs_the_right_credentials() {
    let zk = common::zookeeper();
    let admin = store(&zk, vec![super_auth(&zk)]).await;
    let base = base(&*admin, "locked").await;
    let locked = format!("{base}/locked");
    let alice_only = [acl("cdrwa", "digest", &digest_id("alice", "s3cret"))];
    admin
        .create(&locked, b"secret", &alice_only, false, &[])
        .await
        .expect("create locked");
    admin
        .create(&format!("{locked}/child"), b"", &alice_only, false, &[])
        .await
        .expect("create child");

    let alice = store(&zk, vec![ZkAuth::digest("alice", "s3cret")]).await;
    assert_eq!(
        alice
            .get(&locked)
            .await
            .expect("alice reads")
            .expect("exists")
            .0,
        b"secret"
    );
    alice
        .set_data(&locked, b"new", -1)
        .await
        .expect("alice writes");

    // ZooKeeper accepts any digest auth; a wrong password simply matches no ACL entry.
    let mallory = store(&zk, vec![ZkAuth::digest("alice", "wrong")]).await;
    let anonymous = store(&zk, vec![]).await;
    for (who, s) in [("wrong password", &mallory), ("no credentials", &anonymous)] {
        let child = format!("{locked}/child");
        let new_child = format!("{locked}/new");
        let denied: Vec<(&str, Result<(), ZkError>, &str, Perms)> = vec![
            ("get", s.get(&locked).await.map(drop), &locked, Perms::READ),
            (
                "get_acl",
                s.get_acl(&locked).await.map(drop),
                &locked,
                Perms::READ,
            ),
            (
                "children",
                s.children(&locked).await.map(drop),
                &locked,
                Perms::READ,
            ),
            (
                "set_data",
                s.set_data(&locked, b"x", -1).await.map(drop),
                &locked,
                Perms::WRITE,
            ),
            (
                "set_acl",
                s.set_acl(&locked, &[Acl::world(Perms::ALL)], -1)
                    .await
                    .map(drop),
                &locked,
                Perms::ADMIN,
            ),
            (
                "create",
                s.create(&new_child, b"", &[Acl::world(Perms::ALL)], false, &[])
                    .await
                    .map(drop),
                &locked,
                Perms::CREATE,
            ),
            ("delete", s.delete(&child, -1).await, &locked, Perms::DELETE),
        ];
        for (op, result, want_path, want_needs) in denied {
            match result {
                Err(ZkError::NoAuth { path, needs }) => {
                    assert_eq!(
                        (path.as_str(), needs),
                        (want_path, want_needs),
                        "{who}: {op}"
                    )
                }
                other => panic!("{who}: {op}: expected NoAuth, got {other:?}"),
            }
        }
        // A missing znode is answered without any permission check.
        assert_eq!(
            s.exists(&format!("{locked}/missing"))
                .await
                .expect("exists"),
            None,
            "{who}"
        );
    }
    let err = anonymous.get(&locked).await.expect_err("denied");
    assert_eq!(
        err.to_string(),
        format!("permission denied on {locked}: needs r (read)")
    );

    alice
        .delete(&format!("{locked}/child"), -1)
        .await
        .expect("alice deletes the child");
    admin
        .delete_recursive(&base)
        .await
        .expect("super user deletes everything");
}

#[tokio::test]
async fn unknown_auth_scheme_is_auth_failed_without_credentials() {
    let zk = common::zookeeper();
    let conn = connection(
        &zk.connect_string,
        vec![ZkAuth {
            scheme: "nosuchscheme".into(),
            credentials: "hunter2".into(),
        }],
    );
    let started = Instant::now();
    match connect(&conn).await {
        Err(err @ ZkError::AuthFailed { .. }) => {
            let shown = format!("{err} {err:?}");
            assert!(
                shown.contains("nosuchscheme") && !shown.contains("hunter2"),
                "{shown}"
            );
        }
        Err(other) => panic!("expected AuthFailed, got {other:?}"),
        Ok(_) => panic!("expected AuthFailed, got a session"),
    }
    assert!(
        started.elapsed() < CONNECT_TIMEOUT,
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn chroot_in_the_connect_string_roots_every_path() {
    let zk = common::zookeeper();
    let admin = store(&zk, vec![super_auth(&zk)]).await;
    let base = base(&*admin, "chroot").await;

    let rooted = store_at(&format!("{}{base}", zk.connect_string)).await;
    rooted
        .create("/inside", b"x", &[Acl::world(Perms::ALL)], false, &[])
        .await
        .expect("create in chroot");
    assert_eq!(
        admin
            .get(&format!("{base}/inside"))
            .await
            .expect("get")
            .expect("visible")
            .0,
        b"x"
    );
    assert_eq!(
        rooted.children("/").await.expect("children"),
        Some(vec!["inside".into()])
    );

    let missing_root = store_at(&format!("{}{base}/nope", zk.connect_string)).await;
    match missing_root
        .create("/x", b"", &[Acl::world(Perms::ALL)], false, &[])
        .await
    {
        Err(err @ ZkError::NoNode { .. }) => {
            assert!(err.to_string().contains(&format!("{base}/nope")), "{err}")
        }
        other => panic!("expected NoNode for the chroot, got {other:?}"),
    }
}

async fn store_at(connect_string: &str) -> Arc<dyn ZnodeStore> {
    connect(&connection(connect_string, vec![]))
        .await
        .expect("connect")
}

/// Connecting to a closed loopback port gives up within the connect timeout.
#[tokio::test]
async fn closed_port_is_unreachable_within_the_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    assert_unreachable(&format!("127.0.0.1:{port}")).await;
}

/// A server that accepts TCP but never speaks ZooKeeper must not hang the caller either.
#[tokio::test]
async fn silent_server_is_unreachable_within_the_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    // The kernel completes the handshakes from the backlog; nobody ever answers.
    assert_unreachable(&address.to_string()).await;
    drop(listener);
}

async fn assert_unreachable(connect_string: &str) {
    let timeout = Duration::from_secs(2);
    let conn = ZkConnection {
        connect_timeout: timeout,
        ..connection(connect_string, vec![])
    };
    let started = Instant::now();
    match connect(&conn).await {
        Err(err @ ZkError::Unreachable { .. }) => {
            assert_eq!(
                err.to_string(),
                format!("could not connect to ZooKeeper at {connect_string} within 2s")
            )
        }
        Err(other) => panic!("expected Unreachable, got {other:?}"),
        Ok(_) => panic!("expected Unreachable, got a session"),
    }
    let took = started.elapsed();
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(1),
        "took {took:?}"
    );
}

fn same_session(a: &Arc<dyn ZnodeStore>, b: &Arc<dyn ZnodeStore>) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

#[tokio::test]
async fn pool_shares_one_session_per_connect_string_and_auth() {
    let zk = common::zookeeper();
    let pool = ZkPool::new();
    let conn = connection(&zk.connect_string, vec![super_auth(&zk)]);
    let gets = (0..200).map(|_| {
        let (pool, conn) = (pool.clone(), conn.clone());
        tokio::spawn(async move { pool.get(&conn).await.expect("get") })
    });
    let stores = futures::future::join_all(gets)
        .await
        .into_iter()
        .map(|r| r.expect("join"))
        .collect::<Vec<_>>();
    assert!(
        stores.iter().all(|s| same_session(s, &stores[0])),
        "all share one session"
    );

    let other_auth = pool
        .get(&connection(&zk.connect_string, vec![]))
        .await
        .expect("anonymous");
    assert!(
        !same_session(&other_auth, &stores[0]),
        "a different auth list is a different session"
    );
    let base = base(&*stores[0], "pool").await;
    assert!(stores[1].exists(&base).await.expect("exists").is_some());
}

/// When the cached session dies, the pool connects again instead of handing it out: here the
/// server is gone for good, so the fresh attempt reports Unreachable.
#[tokio::test]
async fn pool_reconnects_when_the_cached_session_died() {
    let mut zk = common::zookeeper();
    if !zk.dedicated {
        eprintln!("skipped: needs a server this test may stop");
        return;
    }
    let pool = ZkPool::new();
    let conn = ZkConnection {
        session_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        ..connection(&zk.connect_string, vec![])
    };
    let first = pool.get(&conn).await.expect("connect");
    assert!(same_session(
        &first,
        &pool.get(&conn).await.expect("cached")
    ));
    zk.stop();

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match pool.get(&conn).await {
            Ok(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await
            }
            Ok(_) => panic!("the pool kept handing out a dead session"),
            Err(ZkError::Unreachable { .. }) => break,
            Err(other) => panic!("expected Unreachable, got {other:?}"),
        }
    }
    // Operations on the old handle fail with a typed error instead of hanging.
    let started = Instant::now();
    assert!(first.exists("/").await.is_err());
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// With ZooKeeper down, a plan's hundreds of resources must not each wait out their own connect
/// timeout in turn: after one failed attempt, the next callers get the same Unreachable at once.
#[tokio::test]
async fn pool_remembers_an_unreachable_ensemble_for_the_callers_right_after() {
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let timeout = Duration::from_millis(1500);
    let conn = ZkConnection {
        connect_timeout: timeout,
        ..connection(&format!("127.0.0.1:{port}"), vec![])
    };
    let pool = ZkPool::new();
    let started = Instant::now();
    let concurrent = (0..10).map(|_| {
        let (pool, conn) = (pool.clone(), conn.clone());
        tokio::spawn(async move { pool.get(&conn).await.map(|_| ()) })
    });
    let mut results = futures::future::join_all(concurrent)
        .await
        .into_iter()
        .map(|r| r.expect("join"))
        .collect::<Vec<_>>();
    for _ in 0..30 {
        results.push(pool.get(&conn).await.map(|_| ()));
    }
    let elapsed = started.elapsed();
    for result in results {
        match result {
            Err(ZkError::Unreachable { timeout: t, .. }) => assert_eq!(t, timeout),
            other => panic!("expected Unreachable, got {other:?}"),
        }
    }
    // One attempt's worth, not forty: each attempt lasts the whole connect timeout.
    assert!(
        elapsed < timeout * 3,
        "40 callers took {elapsed:?} with a {timeout:?} connect timeout"
    );

    // Once as long again has passed, the pool tries again rather than failing forever.
    tokio::time::sleep(timeout * 2).await;
    let retried = Instant::now();
    assert!(matches!(
        pool.get(&conn).await,
        Err(ZkError::Unreachable { .. })
    ));
    assert!(
        retried.elapsed() >= timeout / 2,
        "the later call made a real attempt"
    );
}

/// A server that accepts connections and never answers (a paused or wedged process) listed
/// first, or second, in the connect string: every connect still reaches the live server within
/// the connect timeout, since each server gets only its share of it. (The client library tries
/// the servers in a random order; with its default of 2/5 of the session timeout per server, a
/// 5 s connect timeout would run out on the silent one about every other time.)
#[tokio::test]
async fn a_silent_server_in_the_connect_string_is_skipped_within_the_connect_timeout() {
    let zk = common::zookeeper();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_addr = silent.local_addr().expect("addr");
    // Accepts, keeps every connection open, says nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in silent.incoming().flatten() {
            held.push(c);
        }
    });
    let conn = ZkConnection {
        connect_string: format!("{silent_addr},{}", zk.connect_string),
        auth: vec![],
        session_timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
    };
    for attempt in 0..6 {
        let started = Instant::now();
        let store = connect(&conn)
            .await
            .unwrap_or_else(|e| panic!("attempt {attempt} after {:?}: {e}", started.elapsed()));
        store.exists("/").await.expect("the live server answers");
    }
}
