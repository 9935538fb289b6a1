//! Memoised answers of `arxos.authorize(key, scope, building)`.
//!
//! Checking a key costs a statement per request (a hash, a lookup, two PL/pgSQL calls), as much
//! as the route's own statement. So the shim remembers, for a short while, that the database
//! accepted a key for a scope and building, and what identity it gave the request (owner, key
//! id, buildings). A remembered grant still goes through the database: the request's
//! transaction sets the same identity, and row-level security does the building scoping. Only
//! acceptances are remembered, never refusals, and nothing is decided in Rust: an entry is the
//! database's own answer to exactly those three inputs.
//!
//! An entry lives at most `ttl`. Revoking a key (`arxos.revoke_api_key` or a plain UPDATE or
//! DELETE of `arxos.api_keys`) sends `NOTIFY arxos_keys, '<key id>'`; the event listener,
//! which listens on that channel, forgets the key's entries at once. A building's new key
//! sends `NOTIFY arxos_keys, '*'`, and every entry is forgotten: entries are by the building
//! as requests name it, and the old key names another building, or none. While the listener is not
//! connected, nothing is remembered (it could miss a revocation), and every entry is dropped
//! when it reconnects. See docs/security.md.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::auth::{ApiKey, Scope};

/// Entries kept at most; beyond that, expired entries are dropped, then all of them.
const MAX_ENTRIES: usize = 10_000;

/// The identity the database gave a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub owner: String,
    pub key_id: String,
    /// The key's buildings as `arxos.building_ids` holds them: ids joined by `,`, or empty.
    pub building_ids: String,
}

struct Entry {
    grant: Grant,
    until: Instant,
}

pub struct Grants {
    ttl: Duration,
    /// Set while the listener is connected and listening on `arxos_keys`.
    live: AtomicBool,
    /// Moves on at every revocation the listener hears of and every change of `live`: an
    /// acceptance the database gave before one of those is not remembered after it.
    generation: AtomicU64,
    /// The database's count of key changes (`arxos.key_generation`) that what is remembered
    /// reflects: the listener sets it when its session starts, and it moves whenever the
    /// listener or a page of events reads a count past it (after every grant is forgotten).
    /// -1 while the listener is not connected.
    key_changes: AtomicI64,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl Grants {
    /// A cache whose entries live `ttl`; a zero `ttl` remembers nothing.
    pub fn new(ttl: Duration) -> Grants {
        Grants {
            ttl,
            live: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            key_changes: AtomicI64::new(-1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether grants of `scope` are remembered now. Never the admin scope's: the admin
    /// functions ask for `arxos.authorize`'s check in their own transaction
    /// (`arxos.admin_call`), so that the login role alone cannot call them.
    fn remembers(&self, scope: Scope) -> bool {
        !self.ttl.is_zero() && scope != Scope::Admin && self.live.load(Ordering::Acquire)
    }

    /// The remembered grant for these inputs, if any and still valid.
    pub fn get(&self, key: &ApiKey, scope: Scope, building: Option<&str>) -> Option<Grant> {
        if !self.remembers(scope) {
            return None;
        }
        let slot = slot(key, scope, building);
        let mut entries = self.lock();
        match entries.get(&slot) {
            Some(entry) if entry.until > Instant::now() => Some(entry.grant.clone()),
            Some(_) => {
                entries.remove(&slot);
                None
            }
            None => None,
        }
    }

    /// Where the revocations stand: read it before asking the database, and hand it to
    /// [`Grants::put`] with the answer.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Remembers that the database accepted these inputs with this identity, unless a key was
    /// revoked (or the listener reconnected) since `asked` ([`Grants::generation`], read before
    /// the question was sent): the answer may predate the revocation, whose notice has already
    /// been handled and would not remove an entry made after it.
    pub fn put(
        &self,
        key: &ApiKey,
        scope: Scope,
        building: Option<&str>,
        grant: Grant,
        asked: u64,
    ) {
        if !self.remembers(scope) {
            return;
        }
        let now = Instant::now();
        let mut entries = self.lock();
        // Compared under the lock that forget_key and set_live also take.
        if self.generation() != asked {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            slot(key, scope, building),
            Entry {
                grant,
                until: now + self.ttl,
            },
        );
    }

    /// Forgets every grant of a key (it was revoked or deleted).
    pub fn forget_key(&self, key_id: &str) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|_, e| e.grant.key_id != key_id);
    }

    /// The database's count of key changes this shim has applied (-1: none read yet, the
    /// listener is not connected).
    pub fn key_changes(&self) -> i64 {
        self.key_changes.load(Ordering::Acquire)
    }

    /// The listener's session starts with the database's count at `count` ([`Grants::set_live`]
    /// has forgotten everything remembered before). Set as it is: a restored database may
    /// count lower.
    pub fn start_key_changes(&self, count: i64) {
        self.key_changes.store(count, Ordering::Release);
    }

    /// The database's count of key changes, read just now, is `seen`: when it is past the one
    /// this shim has applied, every grant is forgotten first (an answer remembered before a
    /// change the shim has not heard of yet is not used after it), and it is taken as applied.
    /// Answers whether it was past. Nothing is done before the listener has read a count.
    pub fn caught_up(&self, seen: i64) -> bool {
        let known = self.key_changes();
        if known < 0 || seen <= known {
            return false;
        }
        self.forget_all();
        self.key_changes.fetch_max(seen, Ordering::AcqRel);
        true
    }

    /// The listener read the count `seen` with its page: as [`Grants::caught_up`], and a count
    /// below the one applied (a database restored in place, a failover to a standby that was
    /// behind) is taken as it is too, after forgetting every grant: left higher, the changes
    /// after it would compare as applied until the count passed it again.
    pub fn listener_counted(&self, seen: i64) {
        let known = self.key_changes();
        if known >= 0 && seen < known {
            self.forget_all();
            self.key_changes.store(seen, Ordering::Release);
        } else {
            self.caught_up(seen);
        }
    }

    /// Forgets every grant (a building's key changed: grants are remembered by the building as
    /// the request named it).
    pub fn forget_all(&self) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// The listener started listening on `arxos_keys` (`true`) or lost its connection
    /// (`false`). Either way every entry is dropped: revocations may have been missed.
    pub fn set_live(&self, live: bool) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
        self.live.store(live, Ordering::Release);
        if !live {
            // read again by the next session
            self.key_changes.store(-1, Ordering::Release);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The entry's key: a hash of the inputs, so the cache never holds a key in clear.
fn slot(key: &ApiKey, scope: Scope, building: Option<&str>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(key.0.as_bytes());
    h.update([0]);
    h.update(scope.as_str().as_bytes());
    match building {
        Some(b) => {
            h.update([1]);
            h.update(b.as_bytes());
        }
        None => h.update([0]),
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(key_id: &str) -> Grant {
        Grant {
            owner: "ada".into(),
            key_id: key_id.into(),
            building_ids: String::new(),
        }
    }

    fn live(ttl: Duration) -> Grants {
        let g = Grants::new(ttl);
        g.set_live(true);
        g
    }

    /// A count of key changes past the one applied forgets everything, once; a lower or equal
    /// one, or any before the listener has read one, changes nothing.
    #[test]
    fn a_key_change_counted_before_its_notice_forgets_every_grant() {
        let g = live(Duration::from_secs(60));
        let key = ApiKey("arx_1".into());
        g.put(&key, Scope::Read, None, grant("k1"), g.generation());
        assert!(!g.caught_up(5), "no count read yet");
        assert!(g.get(&key, Scope::Read, None).is_some());
        g.start_key_changes(5);
        assert!(!g.caught_up(5));
        assert!(!g.caught_up(4), "an older read");
        assert!(g.get(&key, Scope::Read, None).is_some());
        let asked = g.generation();
        assert!(g.caught_up(6));
        assert_eq!(g.get(&key, Scope::Read, None), None);
        assert_ne!(
            g.generation(),
            asked,
            "an answer asked for before is not remembered"
        );
        assert_eq!(g.key_changes(), 6);
        assert!(!g.caught_up(6), "once");
        // the listener takes a lower count too (a database restored in place), forgetting
        g.put(&key, Scope::Read, None, grant("k1"), g.generation());
        g.listener_counted(2);
        assert_eq!(g.key_changes(), 2);
        assert_eq!(g.get(&key, Scope::Read, None), None);
        assert!(g.caught_up(3), "changes after the restore count again");
        g.set_live(false);
        assert_eq!(g.key_changes(), -1, "read again by the next session");
    }

    #[test]
    fn remembers_exactly_the_inputs_it_was_given() {
        let g = live(Duration::from_secs(60));
        let key = ApiKey("arx_1".into());
        g.put(&key, Scope::Read, Some("b42"), grant("k1"), g.generation());
        assert_eq!(g.get(&key, Scope::Read, Some("b42")), Some(grant("k1")));
        assert_eq!(g.get(&key, Scope::Write, Some("b42")), None);
        assert_eq!(g.get(&key, Scope::Read, None), None);
        assert_eq!(g.get(&key, Scope::Read, Some("b43")), None);
        assert_eq!(
            g.get(&ApiKey("arx_2".into()), Scope::Read, Some("b42")),
            None
        );
    }

    #[test]
    fn an_answer_older_than_a_revocation_is_not_remembered() {
        let g = live(Duration::from_secs(60));
        let key = ApiKey("arx_1".into());
        // The database accepted the key; its revocation's notice was handled before the
        // answer came back (forget_key found nothing to forget).
        let asked = g.generation();
        g.forget_key("k1");
        g.put(&key, Scope::Read, None, grant("k1"), asked);
        assert_eq!(g.get(&key, Scope::Read, None), None);
        // The same across a reconnect of the listener (revocations may have been missed).
        let asked = g.generation();
        g.set_live(false);
        g.set_live(true);
        g.put(&key, Scope::Read, None, grant("k1"), asked);
        assert_eq!(g.get(&key, Scope::Read, None), None);
        // Asked after them: remembered.
        g.put(&key, Scope::Read, None, grant("k1"), g.generation());
        assert_eq!(g.get(&key, Scope::Read, None), Some(grant("k1")));
    }

    #[test]
    fn admin_grants_are_never_remembered() {
        let g = live(Duration::from_secs(60));
        let key = ApiKey("arx_1".into());
        g.put(&key, Scope::Admin, None, grant("k1"), g.generation());
        assert_eq!(g.get(&key, Scope::Admin, None), None);
    }

    #[test]
    fn a_building_named_empty_is_not_no_building() {
        let g = live(Duration::from_secs(60));
        let key = ApiKey("arx_1".into());
        g.put(&key, Scope::Read, None, grant("k1"), g.generation());
        assert_eq!(g.get(&key, Scope::Read, Some("")), None);
    }

    #[test]
    fn entries_expire() {
        let g = live(Duration::from_millis(1));
        let key = ApiKey("arx_1".into());
        g.put(&key, Scope::Read, None, grant("k1"), g.generation());
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(g.get(&key, Scope::Read, None), None);
    }

    #[test]
    fn revocation_forgets_every_entry_of_the_key() {
        let g = live(Duration::from_secs(60));
        let (a, b) = (ApiKey("arx_a".into()), ApiKey("arx_b".into()));
        g.put(&a, Scope::Read, None, grant("ka"), g.generation());
        g.put(&a, Scope::Write, Some("b42"), grant("ka"), g.generation());
        g.put(&b, Scope::Read, None, grant("kb"), g.generation());
        g.forget_key("ka");
        assert_eq!(g.get(&a, Scope::Read, None), None);
        assert_eq!(g.get(&a, Scope::Write, Some("b42")), None);
        assert_eq!(g.get(&b, Scope::Read, None), Some(grant("kb")));
    }

    #[test]
    fn nothing_is_remembered_without_a_listener_or_a_ttl() {
        let key = ApiKey("arx_1".into());
        let offline = Grants::new(Duration::from_secs(60));
        offline.put(&key, Scope::Read, None, grant("k1"), offline.generation());
        assert_eq!(offline.get(&key, Scope::Read, None), None);

        let g = live(Duration::from_secs(60));
        g.put(&key, Scope::Read, None, grant("k1"), g.generation());
        g.set_live(false);
        assert_eq!(
            g.get(&key, Scope::Read, None),
            None,
            "dropped when the listener left"
        );
        g.set_live(true);
        assert_eq!(
            g.get(&key, Scope::Read, None),
            None,
            "and not back on reconnect"
        );

        let off = live(Duration::ZERO);
        off.put(&key, Scope::Read, None, grant("k1"), off.generation());
        assert_eq!(off.get(&key, Scope::Read, None), None);
    }

    #[test]
    fn the_map_stays_bounded() {
        let g = live(Duration::from_secs(60));
        for i in 0..(MAX_ENTRIES + 10) {
            g.put(
                &ApiKey(format!("arx_{i}")),
                Scope::Read,
                None,
                grant("k"),
                g.generation(),
            );
        }
        assert!(g.lock().len() <= MAX_ENTRIES);
    }
}
