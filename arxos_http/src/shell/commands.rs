//! The shell's state (building, current path) and what each command does: every command
//! is a call of the extension's SQL functions with bound parameters.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use arxos_core::path;
use serde_json::Value;
use tokio_postgres::error::SqlState;

use super::client::{Db, QueryError};
use super::error::ShellError;
use super::find::FindQuery;
use super::parse::{self, CdTarget, Command, Direction, COMMANDS};
use super::render::{self, Palette, Style, TreeNode};
use crate::table::{printable, render_table, render_table_with};

/// Objects `near` lists at most, nearest first.
const NEAR_SHOWN: i32 = 1000;
/// Most objects `tree` draws and `find` lists, and rows `sql` shows.
const TREE_MAX: i32 = 10_000;
const FIND_MAX: i64 = 1_000;
/// Children `ls` lists at most, in path order.
const LS_MAX: i32 = 1_000;
const SQL_MAX_ROWS: usize = 1_000;
/// Characters of a value `sql` shows at most: a longer one ends with `…`, and the last line
/// says how many were cut (one long value was padded into every row of its column: 1000 rows
/// of a 1 MB value built a gigabyte; found by a review).
const SQL_MAX_CHARS: usize = 1_000;
/// Changes `inspect` shows.
const INSPECT_CHANGES: i64 = 5;
/// Connections `inspect` lists at most (a switch may have thousands).
const INSPECT_CONNECTIONS: i32 = 100;
/// Default radius of `near`, in metres.
const NEAR_RADIUS: f64 = 5.0;
/// Width of the rating bars, in characters.
const BAR_WIDTH: usize = 20;
/// Most completion candidates fetched: one more than completion offers, to know the list was
/// cut (complete.rs).
const COMPLETION_FETCH: i64 = super::complete::MAX_CANDIDATES as i64 + 1;

/// The building a session works in: its id, which every command sends (a building renamed
/// meanwhile stays the one in use, and a new building given the old key is not taken for it;
/// found by a review), and its key, for the prompt and messages (read again after each command
/// that asks the database, so that it follows a rename).
struct InUse {
    id: String,
    key: String,
}

pub struct Session {
    db: Db,
    building: Option<InUse>,
    cwd: String,
    previous: Option<String>,
    palette: Palette,
}

impl Session {
    pub fn new(db: Db, palette: Palette) -> Session {
        Session {
            db,
            building: None,
            cwd: "/".to_owned(),
            previous: None,
            palette,
        }
    }

    /// `b42:/electrical/circuits/2> `, or `arxos:/> ` with no building.
    pub fn prompt(&self) -> String {
        format!(
            "{}:{}> ",
            printable(self.building.as_ref().map_or("arxos", |b| b.key.as_str())),
            printable(&self.cwd)
        )
    }

    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn db_mut(&mut self) -> &mut Db {
        &mut self.db
    }

    /// Switches to the building, at its root.
    pub fn use_building(&mut self, key: &str) -> Result<(), ShellError> {
        let row = self.db.query_one(
            "SELECT b.id::text, b.key FROM arxos.buildings b WHERE b.id = arxos.building_id($1)",
            &[&key],
        )?;
        self.building = Some(InUse {
            id: row.try_get(0)?,
            key: row.try_get(1)?,
        });
        self.cwd = "/".to_owned();
        self.previous = None;
        Ok(())
    }

    /// Picks the only building, when there is exactly one.
    pub fn use_only_building(&mut self) -> Result<(), ShellError> {
        let rows = self.db.query(
            "SELECT b.id::text, b.key FROM arxos.buildings b ORDER BY b.key LIMIT 2",
            &[],
        )?;
        if let [row] = rows.as_slice() {
            self.building = Some(InUse {
                id: row.try_get(0)?,
                key: row.try_get(1)?,
            });
        }
        Ok(())
    }

    /// The id of the building in use, as the commands send it.
    fn building(&self) -> Result<&str, ShellError> {
        self.building
            .as_ref()
            .map(|b| b.id.as_str())
            .ok_or(ShellError::NoBuilding)
    }

    /// An argument path resolved against the current path (the current path itself when
    /// none is given).
    fn resolve(&self, input: Option<&str>) -> Result<String, ShellError> {
        match input {
            None => Ok(self.cwd.clone()),
            Some(input) => Ok(path::resolve(&self.cwd, input)?),
        }
    }

    /// Runs one command and returns what it prints. `exit` is the caller's business.
    pub fn execute(&mut self, command: Command) -> Result<String, ShellError> {
        // (not after the commands that ask the database nothing: they work while it is away)
        // (`use` has just read the key)
        let reads = command.needs_database() && !matches!(command, Command::Use(_));
        let on_cwd = command.uses_current_path();
        let result = self
            .run(command)
            .map_err(|e| self.explain_missing(e, on_cwd));
        if result.is_ok() && reads {
            self.refresh_key();
        }
        result
    }

    /// The key of the building in use, as it is now (renamed meanwhile, the prompt and
    /// `buildings` say its new key; found by a review). Left as it was when it cannot be read
    /// (the database away, the building deleted).
    fn refresh_key(&mut self) {
        let Some(b) = &self.building else {
            return;
        };
        let key = self
            .db
            .query(
                "SELECT b.key FROM arxos.buildings b WHERE b.id = $1::text::uuid",
                &[&b.id],
            )
            .ok()
            .and_then(|rows| {
                rows.first()
                    .and_then(|row| row.try_get::<_, String>(0).ok())
            });
        if let (Some(key), Some(b)) = (key, self.building.as_mut()) {
            b.key = key;
        }
    }

    /// A "no object" error, when the current path itself is gone (someone moved or deleted
    /// it meanwhile) and the command worked on it (`on_cwd`), says so: otherwise `ls` and
    /// `cd ..` fail with no clue why. The error keeps its detail and hint. (An absolute path
    /// or a building key is not the current path's business: `use nope` kept its own message;
    /// found by a review.)
    fn explain_missing(&self, err: ShellError, on_cwd: bool) -> ShellError {
        let missing = matches!(&err, ShellError::Sql(e)
            if e.code() == Some(&tokio_postgres::error::SqlState::NO_DATA_FOUND));
        // The building in use, deleted meanwhile: its key, not the id the command sent.
        if let (true, Some(b)) = (missing, &self.building) {
            if err
                .to_string()
                .contains(&format!("unknown building '{}'", b.id))
            {
                return ShellError::Invalid(format!(
                    "building {} no longer exists (deleted meanwhile): `buildings` lists those there are, `use KEY` picks one",
                    printable(&b.key)
                ));
            }
        }
        if !missing || !on_cwd || self.cwd == "/" || self.cwd_exists() != Some(false) {
            return err;
        }
        ShellError::Noted {
            note: format!(
                "the current path {} no longer exists (moved or deleted meanwhile); \
                 `cd ..` goes to the nearest path above it that does, `cd /` to the root",
                printable(&self.cwd)
            ),
            err: Box::new(err),
        }
    }

    /// Whether the current path is still an object; `None` when that cannot be asked.
    fn cwd_exists(&self) -> Option<bool> {
        let building = self.building.as_ref()?.id.as_str();
        let row = self
            .db
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM arxos.objects o
                                 WHERE o.building_id = arxos.building_id($1) AND o.path = $2 COLLATE \"C\")",
                &[&building, &self.cwd],
            )
            .ok()?;
        row.try_get(0).ok()
    }

    fn run(&mut self, command: Command) -> Result<String, ShellError> {
        match command {
            Command::Buildings => self.buildings(),
            Command::Use(key) => self.use_building(&key).map(|()| String::new()),
            Command::Cd(target) => self.cd(target),
            Command::Ls(p) => self.ls(p.as_deref()),
            Command::Pwd => Ok(format!("{}\n", printable(&self.cwd))),
            Command::Tree { path, depth } => self.tree(path.as_deref(), depth),
            Command::Inspect(p) => self.inspect(p.as_deref()),
            Command::Find { under, filters } => self.find(under.as_deref(), &filters),
            Command::Near { radius } => self.near(radius.unwrap_or(NEAR_RADIUS)),
            Command::Trace {
                path,
                direction,
                kind,
            } => self.trace(&path, direction, kind.as_deref()),
            Command::History { path, limit } => self.history(path.as_deref(), limit),
            Command::Rating => self.rating(),
            Command::Sql(query) => self.sql(&query),
            Command::Help(topic) => help(topic.as_deref()),
            Command::Exit(_) => Ok(String::new()),
        }
    }

    fn buildings(&self) -> Result<String, ShellError> {
        let rows = self.db.query(
            "SELECT b.key, b.name, r.grade, r.score::text, coalesce(b.address, ''), b.id::text
               FROM arxos.buildings b
               LEFT JOIN LATERAL arxos.rating(b.key) r ON true
              ORDER BY b.key",
            &[],
        )?;
        let mut table = vec![["", "KEY", "NAME", "GRADE", "SCORE", "ADDRESS"].map(str::to_owned)];
        for row in &rows {
            let key: String = row.try_get(0)?;
            let id: String = row.try_get(5)?;
            let current = if self.building.as_ref().is_some_and(|b| b.id == id) {
                "*"
            } else {
                ""
            };
            let grade: Option<String> = row.try_get(2)?;
            let score: Option<String> = row.try_get(3)?;
            table.push([
                current.to_owned(),
                printable(&key),
                printable(&row.try_get::<_, String>(1)?),
                grade.unwrap_or_default(),
                score.unwrap_or_default(),
                printable(&row.try_get::<_, String>(4)?),
            ]);
        }
        if rows.is_empty() {
            return Ok("no buildings yet\n".to_owned());
        }
        Ok(render_table(&table))
    }

    fn cd(&mut self, target: CdTarget) -> Result<String, ShellError> {
        let mut target = match target {
            CdTarget::Root => "/".to_owned(),
            CdTarget::Previous => self
                .previous
                .clone()
                .ok_or_else(|| ShellError::Invalid("no previous path".to_owned()))?,
            CdTarget::Path(p) => self.resolve(Some(&p))?,
        };
        let building = self.building()?;
        let mut note = String::new();
        if target != "/" {
            let found = self.db.query_one(
                "SELECT o.path::text FROM arxos.get($1, $2) o",
                &[&building, &target],
            );
            match found {
                Ok(_) => {}
                // Up from a current path that is gone (`cd ..` after someone moved it): to
                // the nearest path above that is still there.
                Err(_) if is_above(&target, &self.cwd) && self.cwd_exists() == Some(false) => {
                    let nearest = self.nearest_existing(building, &target)?;
                    note = format!(
                        "{} no longer exists (moved or deleted meanwhile); now at {}\n",
                        printable(&target),
                        printable(&nearest)
                    );
                    target = nearest;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if target != self.cwd {
            self.previous = Some(std::mem::replace(&mut self.cwd, target));
        }
        Ok(note)
    }

    /// The deepest of `path` and its ancestors that is an object; `/` when none is.
    fn nearest_existing(&self, building: &str, path: &str) -> Result<String, ShellError> {
        let mut candidates = vec![path.to_owned()];
        let mut rest = path;
        while let Some((parent, _)) = rest.rsplit_once('/') {
            if parent.is_empty() {
                break;
            }
            candidates.push(parent.to_owned());
            rest = parent;
        }
        let rows = self.db.query(
            "SELECT o.path::text FROM arxos.objects o
              WHERE o.building_id = arxos.building_id($1) AND o.path = ANY($2::text[])
              ORDER BY length(o.path) DESC LIMIT 1",
            &[&building, &candidates],
        )?;
        match rows.first() {
            Some(row) => Ok(row.try_get(0)?),
            None => Ok("/".to_owned()),
        }
    }

    fn ls(&self, input: Option<&str>) -> Result<String, ShellError> {
        let building = self.building()?;
        let target = self.resolve(input)?;
        let rows = self.db.query(
            "SELECT l.name, l.type, l.status, l.needs_repair, l.children
               FROM arxos.ls($1, $2, max => $3) l",
            &[&building, &target, &(LS_MAX + 1)],
        )?;
        let truncated = rows.len() > LS_MAX as usize;
        let mut table = Vec::with_capacity(rows.len());
        let mut directories = Vec::with_capacity(rows.len());
        for row in rows.iter().take(LS_MAX as usize) {
            let children: i64 = row.try_get(4)?;
            let mut name = printable(&row.try_get::<_, String>(0)?);
            if children > 0 {
                name.push('/');
            }
            directories.push(children > 0);
            table.push([
                name,
                printable(&row.try_get::<_, String>(1)?),
                render::marks(&row.try_get::<_, String>(2)?, row.try_get(3)?),
            ]);
        }
        let palette = self.palette;
        let mut out = render_table_with(&table, |r, c, cell| match c {
            0 if directories[r] => palette.paint(Style::Directory, cell),
            2 => palette.paint_marks(cell),
            _ => palette.paint(Style::Dim, cell),
        });
        if table.is_empty() {
            // Nothing below: said, as tree and find say it, not an empty answer that looks
            // like a command that did nothing.
            let _ = writeln!(out, "(no objects below {})", printable(&target));
        }
        if truncated {
            let _ = writeln!(
                out,
                "(first {LS_MAX} children shown; `find {} type=...` narrows them down)",
                super::complete::escape(&printable(&target), None)
            );
        }
        Ok(out)
    }

    fn tree(&self, input: Option<&str>, depth: Option<i32>) -> Result<String, ShellError> {
        let building = self.building()?;
        let root = self.resolve(input)?;
        let rows = self.db.query(
            "SELECT t.path, t.type, t.status, t.needs_repair, t.level
               FROM arxos.tree($1, $2, depth => $3, max => $4) t",
            &[&building, &root, &depth, &(TREE_MAX + 1)],
        )?;
        let truncated = rows.len() > TREE_MAX as usize;
        let mut paths = Vec::with_capacity(rows.len() + 1);
        let mut labels = Vec::with_capacity(rows.len() + 1);
        let mut levels = Vec::with_capacity(rows.len() + 1);
        if root == "/" {
            paths.push("/".to_owned());
            labels.push(("/".to_owned(), String::new(), String::new()));
            levels.push(0);
        }
        for row in rows.iter().take(TREE_MAX as usize) {
            let p: String = row.try_get(0)?;
            let name = if p == root {
                p.clone()
            } else {
                path::name(&p).to_owned()
            };
            labels.push((
                printable(&name),
                printable(&row.try_get::<_, String>(1)?),
                render::marks(&row.try_get::<_, String>(2)?, row.try_get(3)?),
            ));
            levels.push(row.try_get::<_, i32>(4)?);
            paths.push(p);
        }
        // Which of the deepest shown objects have children of their own: asked object by
        // object (fetching the next level instead would spend the row budget on the first
        // deep subtree and leave its siblings out).
        let deeper: HashSet<String> = match depth {
            Some(d) => {
                let deepest: Vec<&str> = paths
                    .iter()
                    .zip(&levels)
                    .filter(|(p, level)| **level == d && p.as_str() != "/")
                    .map(|(p, _)| p.as_str())
                    .collect();
                let rows = self.db.query(
                    "SELECT p FROM unnest($2::text[]) p
                      WHERE EXISTS (SELECT 1 FROM arxos.objects o
                                     WHERE o.building_id = arxos.building_id($1)
                                       AND o.path >= arxos.path_lower(p) AND o.path < arxos.path_upper(p)
                                    OFFSET 0)",
                    &[&building, &deepest],
                )?;
                rows.iter()
                    .map(|r| r.try_get::<_, String>(0))
                    .collect::<Result<_, _>>()?
            }
            None => HashSet::new(),
        };
        // For the root, paths[0] is "/" itself, so the top-level objects attach to it too.
        let (_, mut children) = render::children_by_parent(&paths);
        let shown = |i: usize| depth.is_none_or(|d| levels[i] <= d);
        let palette = self.palette;
        let mut count = 0usize;
        let nodes: Vec<TreeNode> = labels
            .iter()
            .enumerate()
            .map(|(i, (name, type_, marks))| {
                let is_dir = !children[i].is_empty() || deeper.contains(&paths[i]);
                let kids: Vec<usize> = std::mem::take(&mut children[i])
                    .into_iter()
                    .filter(|&c| shown(c))
                    .collect();
                count += kids.len();
                let mut label = palette.object_name(name, is_dir);
                if !type_.is_empty() {
                    let _ = write!(
                        label,
                        "  {}  {}",
                        palette.paint(Style::Dim, type_),
                        palette.paint_marks(marks)
                    );
                }
                TreeNode {
                    label,
                    children: kids,
                }
            })
            .collect();
        let mut out = render::draw_tree(&nodes, 0);
        // With -d N the count is of the objects drawn, which the line says.
        let cut = depth.map(|d| format!(" to depth {d}")).unwrap_or_default();
        let _ = writeln!(out, "{count} {}{cut}", plural(count, "object", "objects"));
        if truncated {
            let _ = writeln!(
                out,
                "(stopped at {TREE_MAX} objects; narrow it with a path or -d N)"
            );
        }
        Ok(out)
    }

    fn inspect(&self, input: Option<&str>) -> Result<String, ShellError> {
        let building = self.building()?;
        let target = self.resolve(input)?;
        let o = self.db.query_one(
            "SELECT o.id::text, o.path::text, o.type, o.status, o.health::int4, o.needs_repair,
                    o.properties::text, o.metrics::text, o.x, o.y, o.z, o.floor, o.instrumented,
                    date_trunc('second', o.created_at)::text, o.created_by,
                    date_trunc('second', o.updated_at)::text, o.updated_by, o.version::int8,
                    date_trunc('second', o.last_reading_at)::text,
                    (SELECT count(*) FROM arxos.ls($1, o.path) l)
               FROM arxos.get($1, $2) o",
            &[&building, &target],
        )?;
        let id: String = o.try_get(0)?;
        let object_path: String = o.try_get(1)?;
        let status = printable(&o.try_get::<_, String>(3)?);
        let needs_repair: bool = o.try_get(5)?;
        let p = self.palette;

        let mut fields: Vec<[String; 2]> = vec![
            ["type".into(), printable(&o.try_get::<_, String>(2)?)],
            [
                "status".into(),
                format!(
                    "{status}  {}",
                    p.paint_marks(&render::marks(&status, needs_repair))
                ),
            ],
            ["health".into(), o.try_get::<_, i32>(4)?.to_string()],
            ["needs repair".into(), yes_no(needs_repair).into()],
            [
                "location".into(),
                location(o.try_get(8)?, o.try_get(9)?, o.try_get(10)?, o.try_get(11)?),
            ],
            ["children".into(), o.try_get::<_, i64>(19)?.to_string()],
            ["instrumented".into(), yes_no(o.try_get(12)?).into()],
            [
                "created".into(),
                format!(
                    "{} by {}",
                    o.try_get::<_, String>(13)?,
                    printable(&o.try_get::<_, String>(14)?)
                ),
            ],
            [
                "updated".into(),
                format!(
                    "{} by {} (version {})",
                    o.try_get::<_, String>(15)?,
                    printable(&o.try_get::<_, String>(16)?),
                    o.try_get::<_, i64>(17)?
                ),
            ],
        ];
        if let Some(reading) = o.try_get::<_, Option<String>>(18)? {
            fields.push(["last reading".into(), reading]);
        }
        fields.push(["id".into(), id.clone()]);

        let mut out = String::new();
        let _ = writeln!(out, "{}", p.paint(Style::Heading, &printable(&object_path)));
        out.push_str(&indent(&render_table(&fields)));
        for (heading, column) in [("properties", 6), ("metrics", 7)] {
            let _ = writeln!(out, "{}", p.paint(Style::Heading, heading));
            let json: Value =
                serde_json::from_str(&o.try_get::<_, String>(column)?).unwrap_or(Value::Null);
            out.push_str(&indent(&key_values(&json)));
        }

        let connections = self.db.query(
            "SELECT c.direction, c.kind, c.other_path, c.other_type
               FROM arxos.connections_of($1, $2, max => $3) c",
            &[&building, &object_path, &(INSPECT_CONNECTIONS + 1)],
        )?;
        let _ = writeln!(out, "{}", p.paint(Style::Heading, "connections"));
        let mut table = Vec::new();
        for c in connections.iter().take(INSPECT_CONNECTIONS as usize) {
            let direction: String = c.try_get(0)?;
            let other = format!(
                "{} {} ({})",
                if direction == "out" { "to" } else { "from" },
                printable(&c.try_get::<_, String>(2)?),
                printable(&c.try_get::<_, String>(3)?)
            );
            table.push([direction, printable(&c.try_get::<_, String>(1)?), other]);
        }
        out.push_str(&indent(&none_if_empty(render_table(&table))));
        if connections.len() > INSPECT_CONNECTIONS as usize {
            let _ = writeln!(
                out,
                "  (first {INSPECT_CONNECTIONS} shown; `trace` follows them all, `sql select * from arxos.connections_of(…)` lists them)"
            );
        }

        let changes = self.db.query(
            "SELECT date_trunc('second', h.at)::text, h.actor, h.op, h.changes::text
               FROM arxos.history($1, $2, subtree => false) h
              WHERE h.object_id = $3::text::uuid
              ORDER BY h.id DESC
              LIMIT $4",
            &[&building, &object_path, &id, &INSPECT_CHANGES],
        )?;
        let _ = writeln!(out, "{}", p.paint(Style::Heading, "last changes"));
        let mut table = Vec::new();
        for h in &changes {
            let op: String = h.try_get(2)?;
            let json: Value =
                serde_json::from_str(&h.try_get::<_, String>(3)?).unwrap_or(Value::Null);
            table.push([
                h.try_get::<_, String>(0)?,
                printable(&h.try_get::<_, String>(1)?),
                render::describe_changes(&op, &json),
            ]);
        }
        out.push_str(&indent(&none_if_empty(render_table(&table))));
        Ok(out)
    }

    fn find(
        &self,
        under: Option<&str>,
        filters: &[super::find::Filter],
    ) -> Result<String, ShellError> {
        let building = self.building()?;
        let under = self.resolve(under)?;
        let q = FindQuery::build(filters);
        if !q.statuses_to_check.is_empty() || !q.types_to_check.is_empty() {
            // One statement for them all (a bad one raises).
            self.db.query(
                "SELECT arxos.check_object_input(t, NULL, NULL) FROM unnest($1::text[]) t \
                 UNION ALL \
                 SELECT arxos.check_object_input(NULL, s, NULL) FROM unnest($2::text[]) s",
                &[&q.types_to_check, &q.statuses_to_check],
            )?;
        }
        let sql = q.sql(FIND_MAX + 1);
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
            &building,
            &under,
            &q.type_,
            &q.status,
            &q.props,
            &q.needs_repair,
        ];
        params.extend(
            q.params
                .iter()
                .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync)),
        );
        let rows = self.db.query(&sql, &params)?;
        let truncated = rows.len() as i64 > FIND_MAX;
        let mut table = Vec::with_capacity(rows.len());
        for row in rows.iter().take(FIND_MAX as usize) {
            table.push([
                printable(&row.try_get::<_, String>(0)?),
                printable(&row.try_get::<_, String>(1)?),
                render::marks(&row.try_get::<_, String>(2)?, row.try_get(3)?),
            ]);
        }
        let palette = self.palette;
        let mut out = render_table_with(&table, |_, c, cell| match c {
            1 => palette.paint(Style::Dim, cell),
            2 => palette.paint_marks(cell),
            _ => cell.to_owned(),
        });
        let n = table.len();
        if truncated {
            let _ = writeln!(
                out,
                "(first {FIND_MAX} shown; add filters to narrow the search)"
            );
        } else {
            let _ = writeln!(out, "{n} {} found", plural(n, "object", "objects"));
        }
        Ok(out)
    }

    fn near(&self, radius: f64) -> Result<String, ShellError> {
        let building = self.building()?;
        if self.cwd == "/" {
            return Err(ShellError::Invalid(
                "near measures from the current object: cd to one first".to_owned(),
            ));
        }
        // The nearest NEAR_SHOWN, and one more to tell whether the list was cut.
        // With each object's repair flag, so that its marks read as in ls and find.
        let mut rows = self.db.query(
            "SELECT n.path, n.type, n.status, n.distance, coalesce(o.needs_repair, false)
               FROM arxos.near($1, $2, $3, $4) WITH ORDINALITY n
               LEFT JOIN arxos.objects o
                 ON o.building_id = (SELECT arxos.building_id($1)) AND o.path = n.path
              ORDER BY n.ordinality",
            &[&building, &self.cwd, &radius, &(NEAR_SHOWN + 1)],
        )?;
        let cut = rows.len() > NEAR_SHOWN as usize;
        rows.truncate(NEAR_SHOWN as usize);
        let mut table = Vec::with_capacity(rows.len());
        for row in &rows {
            table.push([
                format!("{:.2} m", row.try_get::<_, f64>(3)?),
                printable(&row.try_get::<_, String>(0)?),
                printable(&row.try_get::<_, String>(1)?),
                render::marks(&row.try_get::<_, String>(2)?, row.try_get(4)?),
            ]);
        }
        let palette = self.palette;
        let mut out = render_table_with(&table, |_, c, cell| match c {
            2 => palette.paint(Style::Dim, cell),
            3 => palette.paint_marks(cell),
            _ => cell.to_owned(),
        });
        let n = table.len();
        if cut {
            let _ = writeln!(
                out,
                "(the nearest {n} within {} m of {}; a smaller radius shows fewer)",
                render::number(radius),
                self.cwd
            );
        } else {
            let _ = writeln!(
                out,
                "{n} {} within {} m of {}",
                plural(n, "object", "objects"),
                render::number(radius),
                self.cwd
            );
        }
        Ok(out)
    }

    fn trace(
        &self,
        input: &str,
        direction: Direction,
        kind: Option<&str>,
    ) -> Result<String, ShellError> {
        let building = self.building()?;
        let start = self.resolve(Some(input))?;
        let mut rows = self.db.query(
            "SELECT t.depth, t.path, t.type, t.status, t.kind, t.via, t.cycle, t.again,
                    coalesce(o.needs_repair, false), t.more
               FROM (SELECT * FROM arxos.trace($1, $2, $3, $4) WITH ORDINALITY
                      LIMIT $5::int4) t
               LEFT JOIN arxos.objects o
                 ON o.building_id = (SELECT arxos.building_id($1)) AND o.path = t.path
              ORDER BY t.ordinality",
            &[
                &building,
                &start,
                &direction.as_sql(),
                &kind,
                &(TREE_MAX + 1),
            ],
        )?;
        let cut = rows.len() > TREE_MAX as usize;
        rows.truncate(TREE_MAX as usize);
        struct Step {
            depth: i32,
            path: String,
            via: Option<String>,
            kind: Option<String>,
            cycle: bool,
            label: String,
        }
        let p = self.palette;
        let arrow = match direction {
            Direction::Downstream => "→",
            Direction::Upstream => "←",
        };
        let mut steps = Vec::with_capacity(rows.len());
        for row in &rows {
            let path: String = row.try_get(1)?;
            let kind: Option<String> = row.try_get(4)?;
            let cycle: bool = row.try_get(6)?;
            let mut label = String::new();
            if let Some(kind) = &kind {
                let _ = write!(label, "{} {arrow} ", p.paint(Style::Dim, &printable(kind)));
            }
            let _ = write!(
                label,
                "{}  {}  {}",
                printable(&path),
                p.paint(Style::Dim, &printable(&row.try_get::<_, String>(2)?)),
                p.paint_marks(&render::marks(
                    &row.try_get::<_, String>(3)?,
                    row.try_get(8)?
                ))
            );
            if cycle {
                let _ = write!(label, "  {}", p.paint(Style::Warning, "(cycle)"));
            } else if row.try_get::<_, bool>(9)? {
                // The walk's depth limit: what lies beyond is not drawn.
                let _ = write!(
                    label,
                    "  {}",
                    p.paint(Style::Dim, "(continues beyond this depth: trace from here)")
                );
            } else if row.try_get::<_, bool>(7)? {
                // Reached before, nearer the start: drawn there with what lies beyond it.
                let _ = write!(
                    label,
                    "  {}",
                    p.paint(
                        Style::Dim,
                        "(also reached by a shorter route, continued there)"
                    )
                );
            }
            steps.push(Step {
                depth: row.try_get(0)?,
                path,
                via: row.try_get(5)?,
                kind,
                cycle,
                label,
            });
        }
        let Some(root) = steps.iter().position(|s| s.depth == 0) else {
            return Ok(String::new());
        };
        // A step's children: the steps one level deeper reached through it, once each. An
        // object reached by several routes (two feeds, a power and a data link) is drawn under
        // each, but what lies beyond it only under the first: drawn under every route, the
        // output would double at each such object.
        let mut by_parent: HashMap<(i32, &str), Vec<usize>> = HashMap::new();
        for (j, t) in steps.iter().enumerate() {
            if let Some(via) = t.via.as_deref() {
                by_parent.entry((t.depth, via)).or_default().push(j);
            }
        }
        let mut expanded: HashSet<&str> = HashSet::new();
        let mut nodes: Vec<TreeNode> = Vec::with_capacity(steps.len());
        for s in &steps {
            let mut children: Vec<usize> = Vec::new();
            let below = by_parent
                .get(&(s.depth + 1, s.path.as_str()))
                .map_or(&[][..], Vec::as_slice);
            let first = expanded.insert(s.path.as_str());
            if !s.cycle && first {
                for &j in below {
                    let t = &steps[j];
                    if !children
                        .iter()
                        .any(|&k| steps[k].path == t.path && steps[k].kind == t.kind)
                    {
                        children.push(j);
                    }
                }
            }
            let mut label = s.label.clone();
            if !s.cycle && !first && !below.is_empty() {
                let _ = write!(
                    label,
                    "  {}",
                    p.paint(Style::Dim, "(continued under another route)")
                );
            }
            nodes.push(TreeNode { label, children });
        }
        let mut out = render::draw_tree(&nodes, root);
        if cut {
            let _ = writeln!(
                out,
                "(stopped at {TREE_MAX} steps; trace with a KIND, or from further down)"
            );
        }
        Ok(out)
    }

    fn history(&self, input: Option<&str>, limit: i64) -> Result<String, ShellError> {
        let building = self.building()?;
        let target = self.resolve(input)?;
        // The whole building: its newest rows straight from the table (one more than shown, to
        // say whether there are more), not the millions arxos.history would gather first.
        let whole_building = target == "/";
        let mut rows = if whole_building {
            self.db.query(
                "SELECT date_trunc('second', h.at)::text, h.actor, h.op, h.path::text,
                        h.changes::text, NULL::int8
                   FROM arxos.object_history h
                  WHERE h.building_id = arxos.building_id($1)
                  ORDER BY h.id DESC
                  LIMIT $2::int8 + 1",
                &[&building, &limit],
            )?
        } else {
            self.db.query(
                "SELECT date_trunc('second', h.at)::text, h.actor, h.op, h.path::text,
                        h.changes::text, count(*) OVER ()
                   FROM arxos.history($1, $2) h
                  ORDER BY h.id DESC
                  LIMIT $3",
                &[&building, &target, &limit],
            )?
        };
        let more_at_root = whole_building && rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let mut table = Vec::with_capacity(rows.len());
        let mut total = 0i64;
        for row in &rows {
            let op: String = row.try_get(2)?;
            let changes: Value =
                serde_json::from_str(&row.try_get::<_, String>(4)?).unwrap_or(Value::Null);
            total = row.try_get::<_, Option<i64>>(5)?.unwrap_or(0);
            table.push([
                row.try_get::<_, String>(0)?,
                printable(&row.try_get::<_, String>(1)?),
                printable(&row.try_get::<_, String>(3)?),
                render::describe_changes(&op, &changes),
            ]);
        }
        let palette = self.palette;
        let mut out = render_table_with(&table, |_, c, cell| match c {
            0 | 1 => palette.paint(Style::Dim, cell),
            _ => cell.to_owned(),
        });
        // At the most -n takes, a larger -n is no way to more (found by an audit): a path is.
        let more = if limit >= super::parse::HISTORY_MAX {
            "history PATH narrows it to a part of the building"
        } else {
            "history -n N shows more"
        };
        if rows.is_empty() {
            let _ = writeln!(out, "no changes at or below {target}");
        } else if more_at_root {
            let _ = writeln!(out, "({}; {more})", last_changes(rows.len()));
        } else if total > rows.len() as i64 {
            let _ = writeln!(out, "(the last {} of {total} changes; {more})", rows.len());
        }
        Ok(out)
    }

    fn rating(&self) -> Result<String, ShellError> {
        let building = self.building()?;
        let row = self.db.query_one(
            "SELECT r.version::int8, arxos.rating_breakdown($1)::text FROM arxos.rating($1) r",
            &[&building],
        )?;
        let version: i64 = row.try_get(0)?;
        let breakdown: Value = serde_json::from_str(&row.try_get::<_, String>(1)?)
            .map_err(|e| ShellError::Invalid(format!("unreadable rating breakdown: {e}")))?;
        let p = self.palette;
        let mut out = String::new();
        let score = breakdown["score"].as_f64().unwrap_or(0.0);
        let _ = writeln!(
            out,
            // three decimals, as the score is stored and `buildings` shows it
            "{}  grade {}  score {score:.3} / 100  (version {version})",
            printable(breakdown["building"].as_str().unwrap_or(building)),
            p.paint(Style::Heading, breakdown["grade"].as_str().unwrap_or("?")),
        );
        let mut table = Vec::new();
        for c in breakdown["components"].as_array().into_iter().flatten() {
            let score = c["score"].as_f64().unwrap_or(0.0);
            table.push([
                printable(c["name"].as_str().unwrap_or("?")),
                render::bar(score, BAR_WIDTH),
                format!("{score:5.1}"),
                format!("× {}", render::number(c["weight"].as_f64().unwrap_or(0.0))),
            ]);
        }
        out.push_str(&indent(&render_table_with(&table, |_, c, cell| match c {
            1 => p.paint(Style::Ok, cell),
            3 => p.paint(Style::Dim, cell),
            _ => cell.to_owned(),
        })));
        let _ = writeln!(out, "{}", p.paint(Style::Heading, "recommendations"));
        for r in breakdown["recommendations"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let _ = writeln!(out, "  - {}", printable(r.as_str().unwrap_or_default()));
        }
        Ok(out)
    }

    fn sql(&self, query: &str) -> Result<String, ShellError> {
        let result = self
            .db
            .read_only_text_query(query, SQL_MAX_ROWS)
            .map_err(|e| {
                let QueryError::Sql(e) = e else {
                    return ShellError::from(e);
                };
                // PostgreSQL prepares the text first, which refuses several statements.
                let several = e.as_db_error().is_some_and(|db| {
                    *db.code() == SqlState::SYNTAX_ERROR
                        && db.message().contains("multiple commands")
                });
                // COPY … TO STDOUT answers with the copy protocol, which this client does not
                // speak (the connection reports an unexpected message and stays usable).
                let copy = e.as_db_error().is_none()
                    && first_word(query).eq_ignore_ascii_case("copy");
                // The server's words do not say whose limit it was (found by an audit).
                let timed_out = e.as_db_error().is_some_and(|db| {
                    *db.code() == SqlState::QUERY_CANCELED && db.message().contains("statement timeout")
                });
                if several {
                    ShellError::Invalid("sql runs one statement at a time".to_owned())
                } else if timed_out {
                    ShellError::Invalid(
                        "the query ran past the statement timeout sql gives it (10 s, or the role's or database's statement_timeout when lower): narrow it, or run it in psql"
                            .to_owned(),
                    )
                } else if copy {
                    ShellError::Invalid(
                        "sql shows the rows of a query; COPY … TO STDOUT is for psql (use SELECT here)"
                            .to_owned(),
                    )
                } else {
                    ShellError::Sql(e)
                }
            })?;
        let Some(columns) = result.columns else {
            return Ok("OK\n".to_owned());
        };
        let mut table = Vec::with_capacity(result.rows.len() + 1);
        let mut cut = 0usize;
        let mut shown = |text: &str| {
            let text = printable(text);
            if text.chars().count() > SQL_MAX_CHARS {
                cut += 1;
                crate::table::shorten(&text, SQL_MAX_CHARS)
            } else {
                text
            }
        };
        table.push(columns.iter().map(|c| shown(c)).collect::<Vec<_>>());
        for row in &result.rows {
            table.push(
                row.iter()
                    .map(|v| v.as_deref().map(&mut shown).unwrap_or_default())
                    .collect(),
            );
        }
        let p = self.palette;
        let mut out = render_table_with(&table, |r, _, cell| {
            if r == 0 {
                p.paint(Style::Heading, cell)
            } else {
                cell.to_owned()
            }
        });
        let n = result.rows.len();
        if result.truncated {
            let _ = writeln!(out, "(first {n} rows shown; the query returned more)");
        } else {
            let _ = writeln!(out, "({n} {})", plural(n, "row", "rows"));
        }
        if cut > 0 {
            let _ = writeln!(
                out,
                "({cut} {} longer than {SQL_MAX_CHARS} characters cut, ending in …; psql shows them whole)",
                plural(cut, "value", "values")
            );
        }
        Ok(out)
    }

    /// Children of the path `dir` (resolved) whose names start with `prefix`, with whether
    /// each has children itself; empty on any error (completion must not get in the way).
    pub fn children(&self, dir: &str, prefix: &str) -> Vec<(String, bool)> {
        let Some(building) = self.building.as_ref().map(|b| b.id.as_str()) else {
            return Vec::new();
        };
        // The children whose paths lie in [dir/prefix, upper): a range of the
        // (building_id, parent_path, path) index, however many children `dir` has.
        let lower = if dir == "/" {
            format!("/{prefix}")
        } else {
            format!("{dir}/{prefix}")
        };
        let upper = (!prefix.is_empty()).then(|| prefix_upper(&lower)).flatten();
        self.db
            .query_briefly(
                "SELECT o.name::text,
                        EXISTS (SELECT 1 FROM arxos.objects c
                                 WHERE c.building_id = o.building_id AND c.parent_path = o.path)
                   FROM arxos.objects o
                  WHERE o.building_id = arxos.building_id($1) AND o.parent_path = $2 COLLATE \"C\"
                    AND o.path >= $3 COLLATE \"C\"
                    AND ($4::text IS NULL OR o.path < $4 COLLATE \"C\")
                  ORDER BY o.path LIMIT $5",
                &[&building, &dir, &lower, &upper, &COMPLETION_FETCH],
            )
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Building keys that start with `prefix`; empty on any error.
    pub fn building_keys(&self, prefix: &str) -> Vec<String> {
        self.db
            .query_briefly(
                "SELECT b.key FROM arxos.buildings b WHERE starts_with(b.key, $1) ORDER BY b.key LIMIT $2",
                &[&prefix, &COMPLETION_FETCH],
            )
            .map(|rows| rows.iter().filter_map(|r| r.try_get(0).ok()).collect())
            .unwrap_or_default()
    }
}

/// Whether `path` is a proper ancestor of `of` (`/a` of `/a/b`, not of `/ab`).
fn is_above(path: &str, of: &str) -> bool {
    of.strip_prefix(path)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// "the last change", "the last 5 changes".
fn last_changes(n: usize) -> String {
    if n == 1 {
        "the last change".to_owned()
    } else {
        format!("the last {n} changes")
    }
}

/// The least string above every string that starts with `prefix` (in code point order,
/// which is the byte order of UTF-8 and so of `COLLATE "C"`); none when there is no such
/// string (every character is U+10FFFF).
fn prefix_upper(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn help(topic: Option<&str>) -> Result<String, ShellError> {
    let mut out = String::new();
    match topic {
        None => {
            let table: Vec<[String; 2]> = COMMANDS
                .iter()
                .map(|c| [c.usage.to_owned(), c.summary.to_owned()])
                .collect();
            out.push_str(&render_table(&table));
            out.push_str(
                "\nPaths are absolute (/electrical/panels) or relative to the current path (.., circuits/2).\n\
                 Separate commands with ;. `help COMMAND` explains one.\n\
                 Tab completes commands and paths, where the terminal has line editing.\n",
            );
        }
        Some(name) => {
            let info = parse::command_info(name)
                .ok_or_else(|| ShellError::UnknownCommand(name.to_owned()))?;
            let _ = writeln!(out, "usage: {}", info.usage);
            let _ = writeln!(out, "{}", info.summary);
            if !info.details.is_empty() {
                out.push('\n');
                let _ = writeln!(out, "{}", info.details);
            }
        }
    }
    Ok(out)
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn location(x: Option<f64>, y: Option<f64>, z: Option<f64>, floor: Option<i32>) -> String {
    let mut parts = Vec::new();
    if let (Some(x), Some(y), Some(z)) = (x, y, z) {
        parts.push(format!(
            "x {}  y {}  z {}",
            render::exact(x),
            render::exact(y),
            render::exact(z)
        ));
    }
    if let Some(floor) = floor {
        parts.push(format!("floor {floor}"));
    }
    if parts.is_empty() {
        "(none)".to_owned()
    } else {
        parts.join("  ")
    }
}

/// The keys and values of a JSON object, one per line, keys in order.
fn key_values(json: &Value) -> String {
    let mut table: Vec<[String; 2]> = json
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| [printable(k), render::value(v, 200)])
        .collect();
    table.sort();
    none_if_empty(render_table(&table))
}

fn none_if_empty(text: String) -> String {
    if text.is_empty() {
        "(none)\n".to_owned()
    } else {
        text
    }
}

/// Indents every line by two spaces.
fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// The first word of a statement, past blanks and comments (`-- …` to the end of the line,
/// `/* … */`, which nest in PostgreSQL): a comment before `COPY` hid it (found by a review).
fn first_word(query: &str) -> &str {
    let mut rest = query;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.find('\n').map_or("", |i| &after[i + 1..]);
        } else if rest.starts_with("/*") {
            // (byte offsets, cut only just past an ASCII `*/` or at the end)
            let bytes = rest.as_bytes();
            let (mut depth, mut i) = (0usize, 0usize);
            while i < bytes.len() {
                if bytes[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if bytes[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            rest = &rest[i.min(bytes.len())..];
        } else {
            return rest
                .split(|c: char| !c.is_ascii_alphabetic())
                .next()
                .unwrap_or_default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_word_is_found_past_comments() {
        assert_eq!(first_word("  copy (select 1) to stdout"), "copy");
        assert_eq!(first_word("/* c */ COPY t TO STDOUT"), "COPY");
        assert_eq!(
            first_word("/* a /* nested */ é */\n-- line\n  copy x"),
            "copy"
        );
        assert_eq!(first_word("-- only a comment"), "");
        assert_eq!(first_word("/* unclosed é"), "");
        assert_eq!(first_word("select 1"), "select");
    }

    #[test]
    fn help_lists_every_command() {
        let text = help(None).unwrap();
        for c in COMMANDS {
            assert!(text.contains(c.usage), "{}", c.name);
        }
        assert!(help(Some("find")).unwrap().contains("voltage>100"));
        assert!(help(Some("nope")).is_err());
    }

    #[test]
    fn prefix_upper_bounds_every_extension_of_the_prefix() {
        assert_eq!(prefix_upper("/a/ou").as_deref(), Some("/a/ov"));
        // The byte order of UTF-8 is the code point order.
        assert_eq!(prefix_upper("/\u{D7FF}").as_deref(), Some("/\u{E000}"));
        assert_eq!(prefix_upper("/x\u{10FFFF}").as_deref(), Some("/y"));
        assert_eq!(prefix_upper("\u{10FFFF}"), None);
        let upper = prefix_upper("/r\u{e9}").unwrap();
        for name in ["/r\u{e9}", "/r\u{e9}\u{10FFFF}\u{10FFFF}", "/r\u{e9}zzz"] {
            assert!(name.as_bytes() < upper.as_bytes(), "{name:?}");
        }
        assert!("/r\u{ea}".as_bytes() >= upper.as_bytes());
    }

    #[test]
    fn locations_read_naturally() {
        assert_eq!(
            location(Some(7.0), Some(3.0), Some(0.3), Some(1)),
            "x 7  y 3  z 0.3  floor 1"
        );
        assert_eq!(location(None, None, None, Some(2)), "floor 2");
        assert_eq!(location(None, None, None, None), "(none)");
    }

    #[test]
    fn key_values_are_sorted_and_unquoted() {
        let json: Value = serde_json::json!({"voltage": 120, "fault": "no voltage"});
        assert_eq!(key_values(&json), "fault    no voltage\nvoltage  120\n");
        assert_eq!(key_values(&serde_json::json!({})), "(none)\n");
    }
}
