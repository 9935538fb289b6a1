//! What every request handler can reach.

use std::time::Instant;

use deadpool_postgres::Pool;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub started: Instant,
}

impl AppState {
    pub fn new(pool: Pool) -> Self {
        AppState {
            pool,
            started: Instant::now(),
        }
    }
}
